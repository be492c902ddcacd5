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

SourceRef resolve_import(const std::string& path, const SourceFile& from, std::string& error) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  fs::path requested(path);
  if (requested.is_absolute()) {
    candidates.push_back(requested);
  } else {
    candidates.push_back(fs::path(from.path).parent_path() / requested);
    const char* stdlib = std::getenv("TAXON_STDLIB");
    candidates.push_back(fs::path(stdlib && *stdlib ? stdlib : TAXON_STDLIB_DIR) / requested);
  }
  for (const auto& candidate : candidates) {
    std::error_code ignored;
    if (fs::is_regular_file(candidate, ignored)) {
      // Shown relative to the working directory when it can be, like the files users name themselves.
      fs::path shown = fs::proximate(candidate, ignored);
      return load_source((ignored ? candidate : shown).lexically_normal().string());
    }
  }
  error = fmt::format("no such file next to {} or in the stdlib", from.path);
  return nullptr;
}

LoadedRules load_rules(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  LoadedRules rules;
  if (extension == ".yaml" || extension == ".yml") {
    rules.source = load_source(path);
    rules.program = lower_linnaeus_yaml(rules.source, rules.diagnostics, &rules.checkpoint_plans);
    rules.is_yaml = true;
    return rules;
  }
  if (extension != ".tx" && path != "-")
    throw InputError(code::unsupported_input,
                     fmt::format("{}: unknown kind of rule file '{}'; taxon reads the taxon language (.tx) and "
                                 "linnaeus YAML (.yaml, .yml)",
                                 path, extension));
  rules.source = load_source(path);
  tx::Lowered lowered = tx::parse_and_lower(rules.source, rules.diagnostics, resolve_import);
  rules.program = std::move(lowered.program);
  rules.lint = std::move(lowered.lint);
  rules.plans = std::move(lowered.plans);
  rules.checkpoint_plans = std::move(lowered.checkpoint_plans);
  return rules;
}

}  // namespace taxon::cli
