#include "engine/plans/plan.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/evaluate.hpp"
#include "engine/plans/plan_runner.hpp"
#include "engine/regex.hpp"

namespace taxon {
namespace detail {
namespace {

TensorTable current_table(const std::vector<Entry>& entries, const TensorTable& input) {
  TensorTable table;
  table.has_module_types = false;
  table.has_unknown_kinds = true;
  for (const auto& entry : entries) {
    TensorRecord& record = table.add_copy(input.tensors[entry.input]);
    record.name = table.text(entry.name);
    record.shape = table.dims(entry.recipe->shape);
    record.dtype = table.text(entry.recipe->dtype);
    record.tied_to.reset();  // every key of a checkpoint is its own entry here
    record.kind = TensorKind::unknown;
  }
  return table;
}

}  // namespace

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

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

}  // namespace detail

std::optional<TemplateProblem> template_problem(const std::string& pattern, const std::string& replacement,
                                                const std::vector<std::string>& supplied) {
  std::string error;
  auto re = compile_regex(pattern, error);
  if (!re) return std::nullopt;
  const int groups = re->NumberOfCapturingGroups();
  const auto& named = re->NamedCapturingGroups();
  std::vector<std::string> names;
  for (const auto& [name, index] : named) names.push_back(name);
  std::string captures = names.empty() ? fmt::format("/{}/ has {} numbered group{} and no named one", pattern, groups,
                                                     groups == 1 ? "" : "s")
                                       : fmt::format("/{}/ has {} group{}, named {}", pattern, groups, groups == 1 ? "" : "s",
                                                     fmt::join(names, ", "));
  for (std::size_t i = 0; i + 1 < replacement.size(); ++i) {
    if (replacement[i] != '$') continue;
    char next = replacement[i + 1];
    if (next >= '0' && next <= '9') {
      if (next - '0' > groups)
        return TemplateProblem{fmt::format("\"{}\" uses ${} and {}", replacement, next, captures),
                               groups == 0   ? "capture what the template needs: /^(fc)\\.weight$/ -> \"head.$1\""
                               : groups == 1 ? "use $1, or add a group to the regex"
                                             : fmt::format("use $1..${}, or add a group to the regex", groups)};
      ++i;
      continue;
    }
    if (next != '{') continue;
    std::size_t close = replacement.find('}', i);
    if (close == std::string::npos)
      return TemplateProblem{fmt::format("\"{}\": `${{` is not closed", replacement), "write ${name}, ${name+1} or ${name-1}"};
    std::string inside = replacement.substr(i + 2, close - i - 2);
    std::size_t op = inside.find_first_of("+-");
    std::string name = inside.substr(0, op);
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
      return TemplateProblem{fmt::format("\"{}\": ${{{}}} is not a capture's name; templates take ${{name}}, ${{name+N}} and "
                                         "${{name-N}}", replacement, inside),
                             "shift an index by a whole number, e.g. ${i+1}; other arithmetic belongs in the regex's choice of groups"};
    if (!named.contains(name) && std::find(supplied.begin(), supplied.end(), name) == supplied.end())
      return TemplateProblem{fmt::format("\"{}\" uses ${{{}}} and {}", replacement, name, captures),
                             suggest(name, names,
                                     names.empty() ? std::string("name a group: (?P<i>\\d+), then write ${i}")
                                                   : fmt::format("write ${{{}}}, or name a group (?P<{}>...)", names.front(), name))};
    if (op != std::string::npos) {
      std::string shift = inside.substr(op + 1);
      if (shift.empty() || shift.find_first_not_of("0123456789") != std::string::npos)
        return TemplateProblem{fmt::format("\"{}\": ${{{}}} is not ${{{}+N}} or ${{{}-N}}", replacement, inside, name, name, name),
                               "shift an index by a whole number, e.g. ${i-1}"};
    }
    i = close;
  }
  return std::nullopt;
}

namespace detail {

std::shared_ptr<Recipe> make_recipe(Recipe::Op op, std::vector<RecipePtr> parts, std::vector<int64_t> args, std::vector<int64_t> shape,
                      std::string dtype) {
  auto recipe = std::make_shared<Recipe>();
  recipe->op = op;
  recipe->parts = std::move(parts);
  recipe->args = std::move(args);
  recipe->shape = std::move(shape);
  recipe->dtype = std::move(dtype);
  return recipe;
}



PlanRunner::PlanRunner(const CheckpointPlan& plan, const TensorTable& input, const TensorTable* target,
                       const std::vector<std::string>& labels)
    : plan_(plan), input_(input), target_(target), labels_(labels) {
  entries_.reserve(input.tensors.size());
  for (std::size_t i = 0; i < input.tensors.size(); ++i) {
    const TensorRecord& record = input.tensors[i];
    auto leaf = std::make_shared<Recipe>();
    leaf->input = i;
    leaf->shape = record.shape.to_vector();
    leaf->dtype = std::string(record.dtype);
    entries_.push_back(Entry{std::string(record.name), i, false, std::move(leaf), {}});
  }
  if (target)
    for (const auto& record : target->tensors) target_by_name_.emplace(record.name, &record);
}

std::vector<std::size_t> PlanRunner::select(const Predicate& predicate, const SourceSpan& span) {
  Program program;
  program.selections.push_back(Selection{"step", predicate, Universe::all_tensors, span});
  EvalResult matched = evaluate(program, current_table(entries_, input_));
  for (const auto& d : matched.diagnostics.items())
    if (d.severity == Severity::error) result_.diagnostics.report(d);
  return std::move(matched.selections[0].tensors);
}

std::shared_ptr<const RE2> PlanRunner::regex(const std::string& pattern, const SourceSpan& span) {
  std::string error;
  auto re = compile_regex(pattern, error);
  if (!re) result_.diagnostics.error(code::invalid_regex, span, fmt::format("invalid regex /{}/: {}", pattern, error));
  return re;
}

std::optional<std::string> PlanRunner::rendered_name(const Entry& entry, const std::string& replacement, const RE2& re,
                                                     const std::vector<re2::StringPiece>& groups, const SourceSpan& span) {
  auto rendered = render(replacement, re, groups);
  if (!rendered) {
    result_.diagnostics.error(code::plan_template, span,
                              fmt::format("\"{}\" for {}: the template names a capture the regex lacks, or does arithmetic "
                                          "on one that is not a number",
                                          replacement, entry.name),
                              "name captures with (?P<i>\\d+) and write ${i} or ${i-2}");
    return std::nullopt;
  }
  std::size_t begin = static_cast<std::size_t>(groups[0].data() - entry.name.data());
  return entry.name.substr(0, begin) + *rendered + entry.name.substr(begin + groups[0].size());
}

const TensorRecord* PlanRunner::target_of(const std::string& name) const {
  auto found = target_by_name_.find(name);
  return found == target_by_name_.end() ? nullptr : found->second;
}

std::string PlanRunner::label(const Entry& entry) const {
  return entry.input < labels_.size() ? labels_[entry.input] : std::string(input_.tensors[entry.input].name);
}

// One error per step, with examples: a plan never overwrites a tensor. A step
// is blamed only for collisions it creates; keys that merged sources already
// shared are judged at the end, after every drop had its chance.
void PlanRunner::snapshot() {
  for (auto& entry : entries_) entry.previous = entry.name;
}

void PlanRunner::check_collisions(const SourceSpan& span, bool final_check) {
  // Mostly every name is distinct: told by a set of views first (~40 bytes a key for the time of
  // the check), before the collisions, if any, are gathered in name order.
  std::unordered_set<std::string_view> distinct;
  distinct.reserve(entries_.size());
  bool all_distinct = true;
  for (const auto& entry : entries_)
    if (!distinct.insert(entry.name).second) {
      all_distinct = false;
      break;
    }
  if (all_distinct) return;
  distinct = {};
  std::map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < entries_.size(); ++i) by_name[entries_[i].name].push_back(i);
  std::vector<std::string> examples;
  std::size_t collisions = 0;
  for (const auto& [name, members] : by_name) {
    if (members.size() < 2) continue;
    if (!final_check) {
      std::set<std::string> earlier;
      bool made_here = false;
      for (std::size_t i : members) {
        if (entries_[i].previous) earlier.insert(*entries_[i].previous);
        else made_here = true;
      }
      if (earlier.size() < 2 && !made_here) continue;  // shared already: not this step's doing
    }
    std::vector<std::string> sources;
    for (std::size_t i : members) sources.push_back(label(entries_[i]));
    if (++collisions <= 3) examples.push_back(fmt::format("\"{}\" from {}", name, fmt::join(sources, " and ")));
  }
  if (collisions == 0) return;
  result_.diagnostics.error(code::plan_collision, span,
                            fmt::format("{} key{} would receive two tensors: {}{}", collisions, collisions == 1 ? "" : "s",
                                        fmt::join(examples, "; "), collisions > 3 ? "; ..." : ""),
                            "a plan never overwrites one tensor with another; drop one of them first, or make the "
                            "rename tell them apart");
}

void PlanRunner::apply(const step::Strip& s, const SourceSpan& span) {
  std::size_t changed = 0;
  for (auto& entry : entries_)
    if (entry.name.starts_with(s.prefix)) {
      entry.name.erase(0, s.prefix.size());
      ++changed;
    }
  result_.prefix_steps.emplace_back(fmt::format("strip \"{}\"", s.prefix), changed);
  check_collisions(span, false);
}

void PlanRunner::apply(const step::AddPrefix& s, const SourceSpan&) {
  for (auto& entry : entries_) entry.name = s.prefix + entry.name;
  result_.prefix_steps.emplace_back(fmt::format("prefix \"{}\"", s.prefix), entries_.size());
}

void PlanRunner::apply(const step::Rewrap& s, const SourceSpan&) {
  bool wrapped = target_ && !target_->tensors.empty() &&
                 std::all_of(target_->tensors.begin(), target_->tensors.end(),
                             [&](const TensorRecord& r) { return r.name.starts_with(s.prefix); });
  if (!wrapped) return;
  for (auto& entry : entries_)
    if (!entry.name.starts_with(s.prefix)) entry.name = s.prefix + entry.name;
  result_.prefix_steps.emplace_back(fmt::format("prefix \"{}\" (the target is wrapped)", s.prefix), entries_.size());
}

void PlanRunner::apply(const step::Drop& s, const SourceSpan& span) {
  std::vector<std::size_t> selected = select(s.predicate, span);
  std::set<std::size_t> hit(selected.begin(), selected.end());
  std::vector<Entry> kept;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    bool drop = hit.contains(i) != s.keep;
    // Named as the checkpoint has it, unless a step made the tensor.
    const Entry& entry = entries_[i];
    if (drop)
      result_.dropped.emplace_back(entry.recipe->op == Recipe::Op::input ? input_.tensors[entry.input].name : entry.name, s.rule);
    else
      kept.push_back(std::move(entries_[i]));
  }
  entries_ = std::move(kept);
}

void PlanRunner::apply(const step::Rename& s, const SourceSpan& span) {
  auto re = regex(s.pattern, span);
  if (!re) return;
  std::vector<Entry> added;
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  for (auto& entry : entries_) {
    re2::StringPiece subject(entry.name);
    if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) continue;
    auto renamed = rendered_name(entry, s.replacement, *re, groups, span);
    if (!renamed) return;
    if (s.copy) {
      Entry copy = entry;
      copy.name = *renamed;
      copy.renamed = true;
      copy.previous.reset();
      added.push_back(std::move(copy));
      result_.copied.emplace_back(entry.name, *renamed);
    } else if (*renamed != entry.name) {
      result_.renamed.emplace_back(entry.name, *renamed);
      entry.name = *renamed;
      entry.renamed = true;
    }
  }
  entries_.insert(entries_.end(), added.begin(), added.end());
  check_collisions(span, false);
}

void PlanRunner::apply(const step::Renumber& s, const SourceSpan& span) {
  auto re = regex(s.pattern, span);
  if (!re) return;
  const auto& named = re->NamedCapturingGroups();
  auto outer = named.find("outer"), inner = named.find("inner");
  if (outer == named.end() || inner == named.end()) {
    result_.diagnostics.error(code::plan_template, span, fmt::format("/{}/ must capture (?P<outer>\\d+) and (?P<inner>\\d+)", s.pattern));
    return;
  }
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  // An index that is not a whole number of a sane size: -1, reported below (std::stoll would throw).
  auto number = [&](int group) {
    const re2::StringPiece text = groups[static_cast<std::size_t>(group)];
    long long value = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size() && value >= 0 && value < (1LL << 31) ? value : -1LL;
  };
  struct Match {
    Entry* entry;
    long long outer, inner;
    std::vector<re2::StringPiece> groups;
  };
  std::vector<Match> matches;
  long long per_outer = 0;
  for (auto& entry : entries_) {
    re2::StringPiece subject(entry.name);
    if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) continue;
    matches.push_back({&entry, number(outer->second), number(inner->second), groups});
    if (matches.back().outer < 0 || matches.back().inner < 0) {
      result_.diagnostics.error(code::plan_template, span,
                                fmt::format("\"{}\": /{}/ captures an index that is not a whole number below 2^31", entry.name, s.pattern),
                                "capture digits only: (?P<outer>\\d+) and (?P<inner>\\d+)");
      return;
    }
    per_outer = std::max(per_outer, matches.back().inner + 1);
  }
  for (auto& match : matches) {
    std::string replacement = replace_all(s.replacement, "${index}", std::to_string(match.outer * per_outer + match.inner));
    auto renamed = rendered_name(*match.entry, replacement, *re, match.groups, span);
    if (!renamed) return;
    if (*renamed == match.entry->name) continue;
    result_.renamed.emplace_back(match.entry->name, *renamed);
    match.entry->name = *renamed;
    match.entry->renamed = true;
  }
  check_collisions(span, false);
}

void PlanRunner::apply(const step::SkipMismatched& s, const SourceSpan& span) {
  if (!target_) return;
  std::vector<Entry> kept;
  for (auto& entry : entries_) {
    const TensorRecord* found = target_of(entry.name);
    const auto& shape = entry.recipe->shape;
    if (!found) {
      result_.not_in_target.push_back(entry.name);
      if (entry.renamed) made_away_.push_back(entry.name);
    } else if (found->shape != shape) {
      if (s.mismatch_is_error)
        result_.diagnostics.error(code::plan_shape_mismatch, span,
                                  fmt::format("\"{}\" is {} here and {} in the target, and mismatches are not skipped",
                                              entry.name, shape_text(shape), shape_text(found->shape)),
                                  "set skip_mismatched: true to skip such keys, or resize them first");
      result_.skipped.push_back({entry.name, shape, found->shape.to_vector()});
    } else {
      kept.push_back(std::move(entry));
    }
  }
  entries_ = std::move(kept);
}

void PlanRunner::apply(const step::Load& s, const SourceSpan&) { result_.strict = s.strict; }

void PlanRunner::replace(const std::vector<std::vector<std::size_t>>& consumed, std::vector<std::vector<Entry>> made) {
  std::map<std::size_t, std::size_t> first_of;  // entry -> which `made` takes its place
  std::set<std::size_t> gone;
  for (std::size_t k = 0; k < consumed.size(); ++k) {
    first_of.emplace(*std::min_element(consumed[k].begin(), consumed[k].end()), k);
    gone.insert(consumed[k].begin(), consumed[k].end());
  }
  std::vector<Entry> next;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (auto found = first_of.find(i); found != first_of.end())
      for (auto& entry : made[found->second]) next.push_back(std::move(entry));
    if (!gone.contains(i)) next.push_back(std::move(entries_[i]));
  }
  entries_ = std::move(next);
}

PlanResult PlanRunner::run() {
  for (const auto& plan_step : plan_.steps) {
    snapshot();
    std::visit([&](const auto& s) { apply(s, plan_step.span); }, plan_step.step);
    if (result_.diagnostics.has_errors()) return std::move(result_);
  }
  check_collisions(plan_.span, true);  // merged sources may share keys until the plan tells them apart
  if (result_.diagnostics.has_errors()) return std::move(result_);
  // The entries become the result's keys by move: a key's name, recipe and actions are held once.
  std::vector<std::string> made = std::move(made_away_);  // renamed or made, then dropped for not being in the target
  result_.keys.reserve(entries_.size());
  for (auto& entry : entries_) {
    if (entry.renamed && target_) made.push_back(entry.name);
    entry.previous.reset();
    result_.keys.push_back({std::move(entry.name), entry.input, entry.renamed, std::move(entry.recipe), std::move(entry.actions)});
  }
  entries_ = {};
  if (target_) {
    complete_ties();
    judge_load(result_, *target_, made);
  }
  return std::move(result_);
}

// A target's tie (tied_to) names one tensor twice; a checkpoint often holds one name only
// (transformers drops lm_head.weight). The other name is the same tensor, so it is added
// as such, whichever of the two the result has, when its shape is the target's.
void PlanRunner::complete_ties() {
  std::unordered_map<std::string_view, std::size_t> produced;
  for (std::size_t i = 0; i < result_.keys.size(); ++i) produced.emplace(result_.keys[i].name, i);
  std::vector<PlannedKey> added;
  for (const auto& record : target_->tensors) {
    if (!record.tied_to) continue;
    const TensorRecord& first = target_->tensors[*record.tied_to];
    auto have_first = produced.find(first.name), have_tied = produced.find(record.name);
    bool first_present = have_first != produced.end(), tied_present = have_tied != produced.end();
    if (first_present == tied_present) continue;
    std::size_t at = first_present ? have_first->second : have_tied->second;  // a name added here may be the partner
    const PlannedKey& partner = at < result_.keys.size() ? result_.keys[at] : added[at - result_.keys.size()];
    const TensorRecord& wanted = first_present ? record : first;
    if (partner.recipe->shape != wanted.shape) continue;  // reported as a mismatch of the partner
    PlannedKey copy = partner;
    copy.name = wanted.name;
    copy.renamed = true;  // made here, not kept from the checkpoint
    copy.actions.clear();
    result_.tied.emplace_back(wanted.name, partner.name);
    produced.emplace(wanted.name, result_.keys.size() + added.size());
    added.push_back(std::move(copy));  // after the last use of `partner`, which may live in `added`
  }
  for (auto& key : added) result_.keys.push_back(std::move(key));
}

}  // namespace detail

PlanResult run_plan(const CheckpointPlan& plan, const TensorTable& input, const TensorTable* target,
                    const std::vector<std::string>& labels) {
  return detail::PlanRunner(plan, input, target, labels).run();
}

}  // namespace taxon
