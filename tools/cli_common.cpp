#include "tools/cli_common.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"
#include "runtime/model_dump.hpp"
#include "runtime/option_json.hpp"

namespace taxon::cli {

void print_diagnostics(const std::vector<Diagnostic>& diagnostics, std::size_t max_errors) {
  if (diagnostics.empty()) return;
  std::cerr << render_text(diagnostics, max_errors);
}

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

std::optional<ReferenceShapes> load_reference(const std::string& path) {
  if (path.empty()) return std::nullopt;
  return read_reference(path);
}

}  // namespace taxon::cli
