#include "runtime/rules_file.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"

namespace taxon {

std::string stdlib_directory() {
  namespace fs = std::filesystem;
  if (const char* stdlib = std::getenv("TAXON_STDLIB"); stdlib && *stdlib) return stdlib;
  std::error_code ignored;
  for (const char* candidate : {TAXON_INSTALLED_STDLIB_DIR, TAXON_SOURCE_STDLIB_DIR})
    if (fs::is_directory(candidate, ignored)) return candidate;
  return TAXON_SOURCE_STDLIB_DIR;
}

SourceRef resolve_import(const std::string& path, const SourceFile& from, std::string& error) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  fs::path requested(path);
  if (requested.is_absolute()) {
    candidates.push_back(requested);
  } else {
    candidates.push_back(fs::path(from.path).parent_path() / requested);
    candidates.push_back(fs::path(stdlib_directory()) / requested);
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

const CheckpointPlan* find_plan(const RuleFile& rules, const std::string& name, std::vector<std::string>& names) {
  const CheckpointPlan* found = nullptr;
  names.clear();
  for (const auto& candidate : rules.checkpoint_plans) {
    names.push_back(candidate.name);
    if (name.empty() ? rules.checkpoint_plans.size() == 1 : candidate.name == name) found = &candidate;
  }
  return found;
}

// `timm/layer_decay` or `timm/layer_decay.tx` where no such file is here: the stdlib's.
std::string stdlib_preset(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  fs::path requested(path);
  if (path == "-" || requested.is_absolute() || fs::exists(requested, ignored)) return {};
  if (requested.has_extension() && requested.extension() != ".tx") return {};
  fs::path candidate = fs::path(stdlib_directory()) / requested;
  if (!requested.has_extension()) candidate += ".tx";
  return fs::is_regular_file(candidate, ignored) ? candidate.lexically_normal().string() : std::string();
}

std::vector<std::string> stdlib_preset_names() {
  namespace fs = std::filesystem;
  fs::path root(stdlib_directory());
  std::vector<std::string> names;
  std::error_code error;
  for (fs::recursive_directory_iterator entry(root, error), end; !error && entry != end; entry.increment(error)) {
    std::error_code ignored;  // an entry that cannot be examined is skipped, not the rest of the walk
    if (!entry->is_regular_file(ignored) || entry->path().extension() != ".tx") continue;
    names.push_back(entry->path().lexically_relative(root).replace_extension().generic_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

RuleFile load_rule_file(const std::string& path, const tx::Parameters& parameters) {
  if (std::string preset = stdlib_preset(path); !preset.empty()) return lower_rule_source(load_source(preset), false, parameters);
  std::string extension = std::filesystem::path(path).extension().string();
  bool yaml = extension == ".yaml" || extension == ".yml";
  if (!yaml && extension != ".tx" && path != "-")
    throw InputError(code::unsupported_input,
                     extension.empty()
                         ? fmt::format("{}: no such file, and no stdlib preset of that name; taxon reads rule files "
                                       "(.tx, .yaml, .yml) and stdlib presets such as timm/layer_decay",
                                       path)
                         : fmt::format("{}: unknown kind of rule file '{}'; taxon reads the taxon language (.tx) and "
                                       "linnaeus YAML (.yaml, .yml)",
                                       path, extension));
  return lower_rule_source(load_source(path), yaml, parameters);
}

RuleFile lower_rule_source(SourceRef source, bool yaml, const tx::Parameters& parameters) {
  RuleFile rules;
  rules.source = std::move(source);
  if (yaml) {
    rules.program = lower_linnaeus_yaml(rules.source, rules.diagnostics, &rules.checkpoint_plans);
    rules.is_yaml = true;
    for (const auto& [name, value] : parameters)
      rules.diagnostics.error(code::unknown_parameter, SourceSpan{rules.source, 0, 0, 1},
                              fmt::format("{}: YAML rules declare no parameters; `{}` cannot be set", rules.source->path, name),
                              "parameters are declared in the taxon language: `param NAME = DEFAULT`");
    return rules;
  }
  tx::Lowered lowered = tx::parse_and_lower(rules.source, rules.diagnostics, resolve_import, parameters);
  rules.program = std::move(lowered.program);
  rules.lint = std::move(lowered.lint);
  rules.plans = std::move(lowered.plans);
  rules.checkpoint_plans = std::move(lowered.checkpoint_plans);
  return rules;
}

}  // namespace taxon
