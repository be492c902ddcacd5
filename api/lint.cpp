// lint(): what rules do that their author did not mean, alone and against model dumps
// (include/taxon/taxon.hpp), rendered as text, JSON or SARIF.
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/internal.hpp"
#include "api/report_json.hpp"
#include "engine/lint.hpp"
#include "engine/lint_dump.hpp"
#include "runtime/model_dump.hpp"

#ifndef TAXON_VERSION
#define TAXON_VERSION "unknown"
#endif

namespace taxon {
namespace {

struct NamedTable {
  std::string path;
  TensorTable table;
};

// Findings from evaluating on each dump: overlaps are errors in overlap mode
// (a tensor given to two optimizers); "matches nothing" and "fully
// shadowed" stand only when they hold on every dump.
void lint_on_dumps(const Program& program, const std::vector<NamedTable>& tables, const EvalOptions& options,
                   std::vector<Diagnostic>& out) {
  bool overlap_mode = program.groups && program.groups->enabled && program.groups->mode == GroupMode::overlap;
  using Key = std::tuple<std::string, uint32_t, uint32_t, std::string>;  // code, line, column, message
  std::map<Key, std::size_t> per_dump_counts;
  std::map<Key, Diagnostic> first_seen;
  std::set<std::tuple<std::string, uint32_t, uint32_t, std::string>> seen;
  for (const auto& [path, table] : tables) {
    EvalResult result = evaluate(program, table, options);
    result.diagnostics.append(lint_on_table(program, result, table, options));
    for (Diagnostic diagnostic : result.diagnostics.items()) {
      auto key = std::make_tuple(diagnostic.code, diagnostic.span.line, diagnostic.span.col, diagnostic.message);
      if (diagnostic.code == code::matches_nothing || diagnostic.code == code::shadowed_group ||
          diagnostic.code == code::dead_alternative) {
        ++per_dump_counts[key];
        first_seen.emplace(key, diagnostic);
        continue;
      }
      if (diagnostic.code == code::group_overlap && overlap_mode) diagnostic.severity = Severity::error;
      if (tables.size() > 1) diagnostic.message += fmt::format(" [{}]", path);
      if (seen.insert(std::make_tuple(diagnostic.code, diagnostic.span.line, diagnostic.span.col, diagnostic.message)).second)
        out.push_back(std::move(diagnostic));
    }
  }
  for (auto& [key, diagnostic] : first_seen)
    if (per_dump_counts[key] == tables.size()) {
      if (tables.size() > 1) diagnostic.message += " on every dump given";
      out.push_back(diagnostic);
    }
}

nlohmann::ordered_json sarif(const std::vector<Diagnostic>& findings) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  std::set<std::string> listed;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& d : findings) {
    if (listed.insert(d.code).second)
      rules.push_back({{"id", d.code}, {"shortDescription", {{"text", std::string(describe_code(d.code))}}}});
    nlohmann::ordered_json result;
    result["ruleId"] = d.code;
    result["level"] = std::string(severity_name(d.severity));
    result["message"] = {{"text", d.hint.empty() ? d.message : d.message + "\nhint: " + d.hint}};
    if (d.span.file) {
      nlohmann::ordered_json location;
      location["physicalLocation"]["artifactLocation"]["uri"] = d.span.file->path;
      if (d.span.has_position())
        location["physicalLocation"]["region"] = {
            {"startLine", d.span.line}, {"startColumn", d.span.col}, {"endColumn", d.span.col + d.span.length}};
      result["locations"] = nlohmann::ordered_json::array({location});
    }
    results.push_back(std::move(result));
  }
  nlohmann::ordered_json run;
  run["tool"]["driver"] = {{"name", "taxon"}, {"version", TAXON_VERSION}, {"rules", std::move(rules)}};
  run["results"] = std::move(results);
  return {{"version", "2.1.0"},
          {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"runs", nlohmann::ordered_json::array({std::move(run)})}};
}

}  // namespace

struct LintReport::Impl {
  std::vector<Diagnostic> findings;
};

namespace {

// Lints rule files already read, each alone and then on every dump.
LintReport lint_files(const std::vector<const RuleFile*>& files, const std::vector<Model>& dumps,
                      const EvaluateOptions& options) {
  std::vector<NamedTable> tables;
  for (const auto& dump : dumps) tables.push_back({model_name(dump), dump.impl().table});
  std::optional<ReferenceShapes> reference;
  if (options.reference) reference = reference_shapes(options.reference->impl().table, model_name(*options.reference));
  EvalOptions eval_options{reference ? &*reference : nullptr};
  auto impl = std::make_shared<LintReport::Impl>();
  std::vector<Diagnostic>& findings = impl->findings;
  for (const RuleFile* loaded : files) {
    for (const auto& d : loaded->diagnostics.items()) findings.push_back(d);
    if (loaded->diagnostics.has_errors()) continue;  // nothing sound to check further
    for (const auto& d : loaded->lint.items()) findings.push_back(d);
    Diagnostics static_findings = lint_program(loaded->program);
    for (const auto& plan : loaded->checkpoint_plans) static_findings.append(lint_plan(plan));
    for (const auto& d : static_findings.items()) findings.push_back(d);
    if (!tables.empty()) lint_on_dumps(loaded->program, tables, eval_options, findings);
  }
  LintReport report;
  for (const auto& d : findings) {
    report.errors += d.severity == Severity::error;
    report.warnings += d.severity == Severity::warning;
  }
  report.findings = to_findings(findings);
  report.impl = std::move(impl);
  return report;
}

}  // namespace

LintReport lint(const std::vector<std::string>& rule_files, const std::vector<Model>& dumps, const EvaluateOptions& options,
                const RuleParameters& parameters) {
  return translating_errors([&] {
    std::vector<RuleFile> loaded;
    loaded.reserve(rule_files.size());
    for (const auto& path : rule_files) loaded.push_back(load_rule_file(path, parameters));
    std::vector<const RuleFile*> files;
    for (const auto& file : loaded) files.push_back(&file);
    return lint_files(files, dumps, options);
  });
}

LintReport lint(const Rules& rules, const std::vector<Model>& dumps, const EvaluateOptions& options) {
  return translating_errors([&] { return lint_files({&rules.impl().file}, dumps, options); });
}

std::string LintReport::text(std::size_t max_shown) const { return render_text(impl->findings, max_shown); }

std::string LintReport::json() const {
  nlohmann::ordered_json out;
  out["diagnostics"] = nlohmann::ordered_json::array();
  for (const auto& d : impl->findings) out["diagnostics"].push_back(to_json(d));
  out["errors"] = errors;
  out["warnings"] = warnings;
  return out.dump(2) + "\n";
}

std::string LintReport::sarif() const { return taxon::sarif(impl->findings).dump(2) + "\n"; }

}  // namespace taxon
