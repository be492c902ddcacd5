#include "api/report_json.hpp"

#include "runtime/option_json.hpp"

namespace taxon {

nlohmann::ordered_json to_json(const Diagnostic& d) {
  nlohmann::ordered_json out;
  out["code"] = d.code;
  out["severity"] = std::string(severity_name(d.severity));
  out["file"] = d.span.file ? nlohmann::ordered_json(d.span.file->path) : nlohmann::ordered_json(nullptr);
  out["line"] = d.span.has_position() ? nlohmann::ordered_json(d.span.line) : nlohmann::ordered_json(nullptr);
  out["col"] = d.span.has_position() ? nlohmann::ordered_json(d.span.col) : nlohmann::ordered_json(nullptr);
  out["message"] = d.message;
  out["hint"] = d.hint;
  return out;
}

nlohmann::ordered_json to_json(const OptionValue& value) { return option_to_json<nlohmann::ordered_json>(value); }

}  // namespace taxon
