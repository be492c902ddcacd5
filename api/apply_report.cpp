#include "api/apply_report.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/json_stream.hpp"

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
  // Streamed: the lists hold an entry per tensor (100k and more); each entry is a small tree.
  using json = nlohmann::ordered_json;
  const PlanResult& result = *report.result;
  std::string text;
  JsonStream out(text);
  auto member = [&](const char* key, const json& value) {
    out.key(key);
    out.value(value);
  };
  auto list = [&](const char* key, const auto& items, const auto& entry) {
    out.key(key);
    out.begin_array();
    for (const auto& item : items) out.value(entry(item));
    out.end_array();
  };
  auto pairs = [&](const char* key, const auto& items, const char* a, const char* b) {
    list(key, items, [&](const auto& item) { return json{{a, item.first}, {b, item.second}}; });
  };
  auto mismatches = [&](const char* key, const std::vector<PlanResult::Mismatch>& items) {
    list(key, items, [](const PlanResult::Mismatch& m) {
      return json{{"tensor", m.name}, {"source_shape", m.source_shape}, {"target_shape", m.target_shape}};
    });
  };
  auto names = [&](const char* key, const std::vector<std::string>& items) {
    out.key(key);
    out.begin_array();
    for (const auto& name : items) out.string(name);
    out.end_array();
  };
  out.begin_object();
  member("plan", report.plan);
  names("sources", report.inputs);
  member("output", report.output.empty() ? json(nullptr) : json(report.output));
  list("tensors", result.keys,
       [&](const PlannedKey& key) { return json{{"name", key.name}, {"from", report.input->tensors[key.input].name}}; });
  member("kept", kept_count(result));
  list("prefix_steps", result.prefix_steps, [](const auto& step) { return json{{"step", step.first}, {"changed", step.second}}; });
  pairs("renamed", result.renamed, "from", "to");
  pairs("copied", result.copied, "from", "to");
  pairs("tied", result.tied, "tensor", "shares");
  pairs("dropped", result.dropped, "tensor", "rule");
  list("surgery", result.surgery,
       [](const SurgeryRecord& record) { return json{{"step", record.verb}, {"from", record.from}, {"to", record.to}}; });
  out.key("transformed");
  out.begin_array();
  for (const auto& key : result.keys)
    for (const auto& action : key.actions)
      out.value(json{{"tensor", key.name}, {"action", action.step->verb + " " + action.step->action}, {"shape", action.to}});
  out.end_array();
  mismatches("skipped_mismatched", result.skipped);
  names("not_in_target", result.not_in_target);
  mismatches("mismatched", result.mismatched);
  names("missing", result.missing);
  names("unexpected", result.unexpected);
  list("made_not_in_target", result.strays, [](const auto& stray) { return json{{"tensor", stray.name}, {"closest", stray.closest}}; });
  list("left_out", report.left_out, [](const auto& left) { return json{{"entry", left.entry}, {"reason", left.reason}}; });
  member("strict", result.strict);
  member("load", json{{"checked", !report.target.empty()},
                      {"fails", result.verdict.load_fails},
                      {"loaded", result.verdict.loaded},
                      {"reasons", result.verdict.reasons},
                      {"hint", result.verdict.hint}});
  out.end_object();
  return text + "\n";
}

}  // namespace taxon
