#include "tools/cli_common.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"

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

nlohmann::ordered_json to_json(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::ordered_json {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<V, OptionValue::List>) {
          auto list = nlohmann::ordered_json::array();
          for (const auto& item : v) list.push_back(to_json(item));
          return list;
        } else if constexpr (std::is_same_v<V, OptionValue::Map>) {
          auto map = nlohmann::ordered_json::object();
          for (const auto& [key, item] : v) map[key] = to_json(item);
          return map;
        } else {
          return v;
        }
      },
      value.value);
}

LoadedRules load_rules(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  if (extension != ".yaml" && extension != ".yml")
    throw InputError(code::unsupported_input,
                     fmt::format("{}: unknown kind of rule file '{}'; taxon reads linnaeus YAML (.yaml, .yml)", path,
                                 extension));
  LoadedRules rules;
  rules.source = load_source(path);
  rules.program = lower_linnaeus_yaml(rules.source, rules.diagnostics);
  return rules;
}

}  // namespace taxon::cli
