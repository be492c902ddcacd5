#include "engine/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <re2/re2.h>

#include "engine/evaluate.hpp"
#include "engine/regex.hpp"

namespace taxon {
namespace {

// Renders a rename template for one match: $1..$9 are numbered captures,
// ${name} a named one, ${name+N} / ${name-N} a numeric one shifted by N (index
// arithmetic: blocks.(2 + j) -> stages.3.j). Empty on a capture that is not
// a number where arithmetic needs one.
std::optional<std::string> render(const std::string& replacement, const RE2& re, const std::vector<re2::StringPiece>& groups) {
  std::string out;
  for (std::size_t i = 0; i < replacement.size(); ++i) {
    char c = replacement[i];
    if (c != '$' || i + 1 >= replacement.size()) {
      out += c;
      continue;
    }
    char next = replacement[i + 1];
    if (next >= '0' && next <= '9') {
      std::size_t index = static_cast<std::size_t>(next - '0');
      if (index < groups.size() && groups[index].data()) out += std::string(groups[index]);
      ++i;
      continue;
    }
    std::size_t close = replacement.find('}', i);
    if (next != '{' || close == std::string::npos) {
      out += c;
      continue;
    }
    std::string inside = replacement.substr(i + 2, close - i - 2);
    i = close;
    std::size_t op = inside.find_first_of("+-");
    std::string name = inside.substr(0, op);
    auto found = re.NamedCapturingGroups().find(name);
    if (found == re.NamedCapturingGroups().end()) return std::nullopt;
    std::string value(groups[static_cast<std::size_t>(found->second)]);
    if (op == std::string::npos) {
      out += value;
      continue;
    }
    char* end = nullptr;
    long long number = std::strtoll(value.c_str(), &end, 10);
    long long shift = std::strtoll(inside.c_str() + op + 1, nullptr, 10);
    if (value.empty() || *end != '\0') return std::nullopt;
    out += std::to_string(inside[op] == '+' ? number + shift : number - shift);
  }
  return out;
}

struct Entry {
  std::string name;
  std::size_t input;
  bool renamed = false;
  std::vector<std::pair<const step::Transform*, std::vector<int64_t>>> actions;
  std::optional<std::vector<int64_t>> shape;  // set once an action changes it
};

TensorTable current_table(const std::vector<Entry>& entries, const TensorTable& input) {
  TensorTable table;
  table.has_module_types = false;
  for (const auto& entry : entries) {
    TensorRecord record = input.tensors[entry.input];
    record.name = entry.name;
    if (entry.shape) record.shape = *entry.shape;
    record.tied_to.reset();  // every key of a checkpoint is its own entry here
    record.kind = TensorKind::parameter;
    table.tensors.push_back(std::move(record));
  }
  return table;
}

}  // namespace

PlanResult run_plan(const CheckpointPlan& plan, const TensorTable& input, const TensorTable* target,
                    const std::vector<std::string>& labels) {
  PlanResult result;
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < input.tensors.size(); ++i) entries.push_back({input.tensors[i].name, i, false});
  std::map<std::string, const TensorRecord*> target_by_name;
  if (target)
    for (const auto& record : target->tensors) target_by_name.emplace(record.name, &record);
  // The entries a predicate selects (drop, keep, an action's `where`); its errors stop the plan.
  auto select = [&](const Predicate& predicate, const SourceSpan& span) {
    Program program;
    program.selections.push_back(Selection{"step", predicate, Universe::all_tensors, span});
    EvalResult matched = evaluate(program, current_table(entries, input));
    for (const auto& d : matched.diagnostics.items())
      if (d.severity == Severity::error) result.diagnostics.report(d);
    return std::move(matched.selections[0].tensors);
  };

  // One error per step, with examples: a plan never overwrites a tensor. A
  // step is blamed only for collisions it creates; keys that merged sources
  // already shared are judged at the end, after every drop had its chance.
  std::vector<std::string> before;
  auto snapshot = [&]() {
    before.clear();
    for (const auto& entry : entries) before.push_back(entry.name);
  };
  auto check_collisions = [&](const SourceSpan& span, bool final_check) {
    std::map<std::string, std::vector<std::size_t>> by_name;
    for (std::size_t i = 0; i < entries.size(); ++i) by_name[entries[i].name].push_back(i);
    std::vector<std::string> examples;
    std::size_t collisions = 0;
    for (const auto& [name, members] : by_name) {
      if (members.size() < 2) continue;
      if (!final_check) {
        std::set<std::string> earlier;
        for (std::size_t i : members)
          if (i < before.size()) earlier.insert(before[i]);
        if (earlier.size() < 2 && members.back() < before.size()) continue;  // shared already: not this step's doing
      }
      std::vector<std::string> sources;
      for (std::size_t i : members)
        sources.push_back(entries[i].input < labels.size() ? labels[entries[i].input] : input.tensors[entries[i].input].name);
      if (++collisions <= 3) examples.push_back(fmt::format("\"{}\" from {}", name, fmt::join(sources, " and ")));
    }
    if (collisions == 0) return;
    result.diagnostics.error(code::plan_collision, span,
                             fmt::format("{} key{} would receive two tensors: {}{}", collisions, collisions == 1 ? "" : "s",
                                         fmt::join(examples, "; "), collisions > 3 ? "; ..." : ""),
                             "a plan never overwrites one tensor with another; drop one of them first, or make the "
                             "rename tell them apart");
  };

  for (const auto& plan_step : plan.steps) {
    snapshot();
    std::visit(
        [&](const auto& s) {
          using S = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<S, step::Strip>) {
            std::size_t changed = 0;
            for (auto& entry : entries)
              if (entry.name.starts_with(s.prefix)) {
                entry.name.erase(0, s.prefix.size());
                ++changed;
              }
            result.prefix_steps.emplace_back(fmt::format("strip \"{}\"", s.prefix), changed);
            check_collisions(plan_step.span, false);
          } else if constexpr (std::is_same_v<S, step::AddPrefix>) {
            for (auto& entry : entries) entry.name = s.prefix + entry.name;
            result.prefix_steps.emplace_back(fmt::format("prefix \"{}\"", s.prefix), entries.size());
          } else if constexpr (std::is_same_v<S, step::Rewrap>) {
            bool wrapped = target && !target->tensors.empty() &&
                           std::all_of(target->tensors.begin(), target->tensors.end(),
                                       [&](const TensorRecord& r) { return r.name.starts_with(s.prefix); });
            if (!wrapped) return;
            for (auto& entry : entries)
              if (!entry.name.starts_with(s.prefix)) entry.name = s.prefix + entry.name;
            result.prefix_steps.emplace_back(fmt::format("prefix \"{}\" (the target is wrapped)", s.prefix), entries.size());
          } else if constexpr (std::is_same_v<S, step::Drop>) {
            std::vector<std::size_t> selected = select(s.predicate, plan_step.span);
            std::set<std::size_t> hit(selected.begin(), selected.end());
            std::vector<Entry> kept;
            for (std::size_t i = 0; i < entries.size(); ++i) {
              bool drop = hit.contains(i) != s.keep;
              if (drop) result.dropped.emplace_back(input.tensors[entries[i].input].name, s.rule);
              else kept.push_back(entries[i]);
            }
            entries = std::move(kept);
          } else if constexpr (std::is_same_v<S, step::Rename>) {
            std::string error;
            auto re = compile_regex(s.pattern, error);
            if (!re) {
              result.diagnostics.error(code::invalid_regex, plan_step.span, fmt::format("invalid regex /{}/: {}", s.pattern, error));
              return;
            }
            std::vector<Entry> added;
            std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
            for (auto& entry : entries) {
              re2::StringPiece subject(entry.name);
              if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size())))
                continue;
              auto rendered = render(s.replacement, *re, groups);
              if (!rendered) {
                result.diagnostics.error(code::plan_template, plan_step.span,
                                         fmt::format("\"{}\" for {}: the template names a capture the regex lacks, or "
                                                     "does arithmetic on one that is not a number",
                                                     s.replacement, entry.name),
                                         "name captures with (?P<i>\\d+) and write ${i} or ${i-2}");
                return;
              }
              std::size_t begin = static_cast<std::size_t>(groups[0].data() - entry.name.data());
              std::string renamed = entry.name.substr(0, begin) + *rendered + entry.name.substr(begin + groups[0].size());
              if (s.copy) {
                added.push_back({renamed, entry.input, true});
                result.copied.emplace_back(entry.name, renamed);
              } else if (renamed != entry.name) {
                result.renamed.emplace_back(entry.name, renamed);
                entry.name = renamed;
                entry.renamed = true;
              }
            }
            entries.insert(entries.end(), added.begin(), added.end());
            check_collisions(plan_step.span, false);
          } else if constexpr (std::is_same_v<S, step::Transform>) {
            // Takes effect here: later steps (skip mismatched) see the shape it produces,
            // which is the target's shape for the same key.
            result.transforms.push_back(&s);
            for (std::size_t i : select(s.where, plan_step.span)) {
              Entry& entry = entries[i];
              if (s.action == "cast") {  // keeps its shape: no target needed
                entry.actions.emplace_back(&s, entry.shape.value_or(input.tensors[entry.input].shape));
                continue;
              }
              auto found = target_by_name.find(entry.name);
              if (found == target_by_name.end()) {
                result.diagnostics.error(code::plan_no_target_shape, plan_step.span,
                                         fmt::format("`{} {}` on \"{}\" needs the shape to produce, and {}", s.verb, s.action,
                                                     entry.name,
                                                     target ? "the target has no such key" : "no --target was given"),
                                         "pass --target with a model dump (or checkpoint) of the model to load into");
                continue;
              }
              entry.actions.emplace_back(&s, found->second->shape);
              entry.shape = found->second->shape;
            }
          } else if constexpr (std::is_same_v<S, step::SkipMismatched>) {
            if (!target) return;
            std::vector<Entry> kept;
            for (const auto& entry : entries) {
              auto found = target_by_name.find(entry.name);
              const auto& shape = entry.shape ? *entry.shape : input.tensors[entry.input].shape;
              if (found == target_by_name.end()) {
                result.not_in_target.push_back(entry.name);
              } else if (found->second->shape != shape) {
                if (s.mismatch_is_error)
                  result.diagnostics.error(code::plan_shape_mismatch, plan_step.span,
                                           fmt::format("\"{}\" is [{}] here and [{}] in the target, and mismatches are not skipped",
                                                       entry.name, fmt::join(shape, ", "), fmt::join(found->second->shape, ", ")),
                                           "set skip_mismatched: true to skip such keys, or resize them first");
                result.skipped.push_back({entry.name, shape, found->second->shape});
              } else {
                kept.push_back(entry);
              }
            }
            entries = std::move(kept);
          } else if constexpr (std::is_same_v<S, step::Load>) {
            result.strict = s.strict;
          }
        },
        plan_step.step);
    if (result.diagnostics.has_errors()) return result;
  }
  check_collisions(plan.span, true);  // merged sources may share keys until the plan tells them apart
  if (result.diagnostics.has_errors()) return result;
  for (const auto& entry : entries)
    result.keys.push_back({entry.name, entry.input, entry.renamed, entry.actions,
                           entry.shape.value_or(input.tensors[entry.input].shape)});
  if (target) {
    std::set<std::string> produced;
    for (const auto& key : result.keys) produced.insert(key.name);
    std::set<std::string> wanted;
    for (const auto& record : target->tensors) {
      // A strict load ignores non-persistent buffers, and a tied name is not missing while its partner is loaded.
      if (record.kind == TensorKind::buffer && !record.persistent) continue;
      wanted.insert(record.name);
      if (produced.contains(record.name)) continue;
      if (record.tied_to && produced.contains(target->tensors[*record.tied_to].name)) continue;
      result.missing.push_back(record.name);
    }
    for (const auto& key : result.keys)
      if (!wanted.contains(key.name)) result.unexpected.push_back(key.name);
    result.strict_load_fails = result.strict && (!result.missing.empty() || !result.unexpected.empty());
  }
  return result;
}

}  // namespace taxon
