#include "api/apply_report.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace taxon {
namespace {

// "a, b, c", or "a, b, ..., z (64 tensors)" for long lists (a stack of experts).
std::string abbreviated(const std::vector<std::string>& names) {
  if (names.size() <= 4) return fmt::format("{}", fmt::join(names, ", "));
  return fmt::format("{}, {}, ..., {} ({} tensors)", names[0], names[1], names.back(), names.size());
}

std::size_t kept_count(const PlanResult& result) {
  return static_cast<std::size_t>(std::count_if(result.keys.begin(), result.keys.end(), [](const PlannedKey& k) { return !k.renamed; }));
}

std::map<std::string, const PlanResult::Stray*> strays_by_name(const PlanResult& result) {
  std::map<std::string, const PlanResult::Stray*> out;
  for (const auto& stray : result.strays) out.emplace(stray.name, &stray);
  return out;
}

std::string verdict_line(const ApplyReport& report) {
  const PlanResult& result = *report.result;
  std::string text = fmt::format("result: {} tensors", result.keys.size());
  if (report.target.empty()) {
    text += "; no --target, so the load is not checked";
  } else if (result.verdict.load_fails) {
    text += "; the load would fail";
  } else {
    text += fmt::format("; {} load into the target", result.verdict.loaded);
    text += result.strict ? ", and a strict load succeeds" : " with strict = false";
  }
  if (result.verdict.load_fails) return text + " (nothing written)\n";
  if (report.output.empty()) return text + " (dry run: nothing written)\n";
  return text + fmt::format(" -> {}\n", report.output);
}

}  // namespace

std::string apply_report_text(const ApplyReport& report) {
  const PlanResult& result = *report.result;
  std::string text = fmt::format("plan {} on {}{}\n", report.plan, fmt::join(report.inputs, ", "),
                                 report.target.empty() ? "" : fmt::format(" for {}", report.target));
  auto section = [&](std::string_view title, std::size_t count, const std::function<std::string(std::size_t)>& line) {
    text += fmt::format("  {:<14}{:>6}\n", title, count);
    std::size_t shown = report.list_all ? count : std::min<std::size_t>(count, 10);
    for (std::size_t i = 0; i < shown; ++i) text += "      " + line(i) + "\n";
    if (shown < count) text += fmt::format("      ... and {} more (--all lists them)\n", count - shown);
  };
  for (const auto& [step_text, changed] : result.prefix_steps)
    text += fmt::format("  {:<14}{:>6}  keys changed by `{}`\n", "prefix", changed, step_text);
  text += fmt::format("  {:<14}{:>6}\n", "kept", kept_count(result));
  section("renamed", result.renamed.size(), [&](std::size_t i) { return result.renamed[i].first + " -> " + result.renamed[i].second; });
  section("copied", result.copied.size(), [&](std::size_t i) { return result.copied[i].first + " -> " + result.copied[i].second; });
  section("tied", result.tied.size(), [&](std::size_t i) {
    return fmt::format("{} = {}  (one tensor under both names, as the target ties them)", result.tied[i].first, result.tied[i].second);
  });
  section("dropped", result.dropped.size(),
          [&](std::size_t i) { return fmt::format("{}  (by `{}`)", result.dropped[i].first, result.dropped[i].second); });
  for (std::string_view verb : {"split", "fuse", "stack", "unstack"}) {
    std::vector<std::string> lines;
    for (const auto& record : result.surgery)
      if (record.verb == verb) lines.push_back(fmt::format("{} -> {}", abbreviated(record.from), abbreviated(record.to)));
    if (!lines.empty())
      section(verb == "split" ? "split" : verb == "fuse" ? "fused" : verb == "stack" ? "stacked" : "unstacked", lines.size(),
              [&](std::size_t i) { return lines[i]; });
  }
  std::vector<std::string> transformed;
  for (const auto& key : result.keys)
    for (const auto& action : key.actions)
      transformed.push_back(fmt::format("{}  `{} {}` {} -> {}", key.name, action.step->verb, action.step->action,
                                        shape_text(action.from), shape_text(action.to)));
  section("transformed", transformed.size(), [&](std::size_t i) { return transformed[i]; });
  section("skipped", result.skipped.size(), [&](std::size_t i) {
    const auto& m = result.skipped[i];
    return fmt::format("{}  {} here, {} in the target", m.name, shape_text(m.source_shape), shape_text(m.target_shape));
  });
  auto strays = strays_by_name(result);
  auto with_stray = [&](const std::string& name) {
    auto found = strays.find(name);
    if (found == strays.end()) return name;
    if (found->second->closest.empty()) return name + "  (made by a step)";
    return fmt::format("{}  (made by a step; the target has {})", name, fmt::join(found->second->closest, ", "));
  };
  section("not in target", result.not_in_target.size(), [&](std::size_t i) { return with_stray(result.not_in_target[i]); });
  if (!report.target.empty()) {
    section("mismatched", result.mismatched.size(), [&](std::size_t i) {
      const auto& m = result.mismatched[i];
      return fmt::format("{}  {} here, {} in the target", m.name, shape_text(m.source_shape), shape_text(m.target_shape));
    });
    section("missing", result.missing.size(), [&](std::size_t i) { return result.missing[i]; });
    section("unexpected", result.unexpected.size(), [&](std::size_t i) { return with_stray(result.unexpected[i]); });
  }
  if (!report.left_out.empty())
    section("left out", report.left_out.size(), [&](std::size_t i) {
      return fmt::format("{}  ({})", report.left_out[i].entry, report.left_out[i].reason);
    });
  return text + verdict_line(report);
}

std::string apply_report_json(const ApplyReport& report) {
  using json = nlohmann::ordered_json;
  const PlanResult& result = *report.result;
  json out;
  out["plan"] = report.plan;
  out["sources"] = report.inputs;
  out["output"] = report.output.empty() ? json(nullptr) : json(report.output);
  out["tensors"] = json::array();
  for (const auto& key : result.keys)
    out["tensors"].push_back({{"name", key.name}, {"from", report.input->tensors[key.input].name}});
  auto pairs = [](const auto& list, const char* a, const char* b) {
    auto array = json::array();
    for (const auto& [x, y] : list) array.push_back({{a, x}, {b, y}});
    return array;
  };
  auto mismatches = [](const std::vector<PlanResult::Mismatch>& list) {
    auto array = json::array();
    for (const auto& m : list)
      array.push_back({{"tensor", m.name}, {"source_shape", m.source_shape}, {"target_shape", m.target_shape}});
    return array;
  };
  out["kept"] = kept_count(result);
  out["prefix_steps"] = json::array();
  for (const auto& [step_text, changed] : result.prefix_steps) out["prefix_steps"].push_back({{"step", step_text}, {"changed", changed}});
  out["renamed"] = pairs(result.renamed, "from", "to");
  out["copied"] = pairs(result.copied, "from", "to");
  out["tied"] = pairs(result.tied, "tensor", "shares");
  out["dropped"] = pairs(result.dropped, "tensor", "rule");
  out["surgery"] = json::array();
  for (const auto& record : result.surgery) out["surgery"].push_back({{"step", record.verb}, {"from", record.from}, {"to", record.to}});
  out["transformed"] = json::array();
  for (const auto& key : result.keys)
    for (const auto& action : key.actions)
      out["transformed"].push_back(
          {{"tensor", key.name}, {"action", action.step->verb + " " + action.step->action}, {"shape", action.to}});
  out["skipped_mismatched"] = mismatches(result.skipped);
  out["not_in_target"] = result.not_in_target;
  out["mismatched"] = mismatches(result.mismatched);
  out["missing"] = result.missing;
  out["unexpected"] = result.unexpected;
  out["made_not_in_target"] = json::array();
  for (const auto& stray : result.strays) out["made_not_in_target"].push_back({{"tensor", stray.name}, {"closest", stray.closest}});
  out["left_out"] = json::array();
  for (const auto& [entry, reason] : report.left_out) out["left_out"].push_back({{"entry", entry}, {"reason", reason}});
  out["strict"] = result.strict;
  out["load"] = {{"checked", !report.target.empty()},
                 {"fails", result.verdict.load_fails},
                 {"loaded", result.verdict.loaded},
                 {"reasons", result.verdict.reasons},
                 {"hint", result.verdict.hint}};
  return out.dump(2) + "\n";
}

}  // namespace taxon
