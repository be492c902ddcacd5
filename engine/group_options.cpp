#include "engine/group_options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "engine/compiled.hpp"
#include "engine/cpus.hpp"
#include "engine/matcher.hpp"
#include "engine/parallel_parts.hpp"
#include "engine/value_expr.hpp"

namespace taxon {
namespace {

template <typename Visit>
void for_each_option(GroupSet& set, const Visit& visit) {
  for (auto& option : set.inherited_options) visit(option);
  for (auto& option : set.default_options) visit(option);
  for (auto& group : set.groups)
    for (auto& option : group.options) visit(option);
  for (auto& rule : set.set_rules)
    for (auto& option : rule.options) visit(option);
}

// `members`: the tensors it ranges over, answered for the whole table at once (as groups are);
// only those run the regex for captures. Over many tensors, threads take a part each: max, min
// and the distinct values do not depend on the order the tensors are read in.
double aggregate_value(const ValueAggregate& aggregate, const Bitset& members, const Matcher& matcher,
                       const TensorTable& table, unsigned threads) {
  struct Part {
    std::set<double> values;
    std::size_t tensors = 0;
  };
  const Matcher::CaptureSources sources = matcher.capture_sources(*aggregate.predicate);
  constexpr std::size_t kSplitFrom = 16384;  // tensors; fewer are read before a thread would start
  if (threads == 0) threads = static_cast<unsigned>(std::clamp<std::size_t>(usable_cpus(), 1, 2));
  if (aggregate.capture.empty() || table.tensors.size() < kSplitFrom) threads = 1;
  std::vector<Part> parts(threads);
  const std::size_t words = members.words();
  run_parts(threads, [&](std::size_t t) {
    Part& part = parts[t];
    Captures captured;
    Matcher::CaptureScratch scratch;
    std::optional<double> last;  // neighbours mostly share a layer: insert into the set on a change only
    members.for_each_in_words(words * t / threads, words * (t + 1) / threads, [&](std::size_t i) {
      if (!in_universe(table.tensors[i], Universe::parameters)) return;
      ++part.tensors;
      if (aggregate.capture.empty()) return;
      captured.clear();
      matcher.captures(sources, i, captured, scratch);
      if (auto value = captured.number(aggregate.capture); value && value != last) {
        part.values.insert(*value);
        last = value;
      }
    });
  });
  std::set<double> values;
  std::size_t tensors = 0;
  for (auto& part : parts) {
    values.merge(part.values);
    tensors += part.tensors;
  }
  switch (aggregate.op) {
    case ValueAggregate::Op::count_tensors: return static_cast<double>(tensors);
    case ValueAggregate::Op::count_distinct: return static_cast<double>(values.size());
    case ValueAggregate::Op::max: return values.empty() ? std::nan("") : *values.rbegin();
    case ValueAggregate::Op::min: return values.empty() ? std::nan("") : *values.begin();
  }
  return std::nan("");
}

// A computed value is a float, as Python's arithmetic on the same floats would give.
OptionValue number_value(double value) { return OptionValue{value}; }

// One string per option value, equal exactly when the values are.
void append_key(const OptionValue& value, std::string& out) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) out += "n";
        else if constexpr (std::is_same_v<V, bool>) out += v ? "t" : "f";
        else if constexpr (std::is_same_v<V, int64_t>) out += fmt::format("i{}", v);
        else if constexpr (std::is_same_v<V, double>) out += fmt::format("d{}", v);
        else if constexpr (std::is_same_v<V, std::string>) out += fmt::format("s{}:{}", v.size(), v);
        else if constexpr (std::is_same_v<V, OptionValue::List>) {
          out += fmt::format("l{}[", v.size());
          for (const auto& item : v) append_key(item, out);
          out += "]";
        } else {
          out += fmt::format("m{}[", v.size());
          for (const auto& entry : v) {
            out += fmt::format("{}:{}=", entry.key.size(), entry.key);
            append_key(entry.value, out);
          }
          out += "]";
        }
      },
      value.value);
}

std::string options_key(const std::vector<GroupOption>& options) {
  std::string out;
  for (const auto& option : options) {
    out += fmt::format("{}:{}=", option.key.size(), option.key);
    append_key(option.value, out);
    out += ";";
  }
  return out;
}

// `option` replaces the option of its key, or joins the list.
void set_option(std::vector<GroupOption>& options, GroupOption option) {
  auto existing = std::find_if(options.begin(), options.end(), [&](const GroupOption& o) { return o.key == option.key; });
  if (existing != options.end()) *existing = std::move(option);
  else options.push_back(std::move(option));
}

void capture_names(const ValueExpr& expr, std::set<std::string>& names) {
  std::visit(
      [&](const auto& node) {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, ValueCapture>) names.insert(node.name);
        else if constexpr (std::is_same_v<Node, ValueBinary>) {
          capture_names(*node.lhs, names);
          capture_names(*node.rhs, names);
        } else if constexpr (std::is_same_v<Node, ValueNegate>) capture_names(*node.operand, names);
        else if constexpr (std::is_same_v<Node, ValueCall>)
          for (const auto& arg : node.args) capture_names(arg, names);
      },
      expr.node);
}

// The captures a set rule's computed options read, sorted: what labels its parts and decides their values.
std::set<std::string> captures_read(const SetRule& rule) {
  std::set<std::string> used;
  for (const auto& option : rule.options)
    if (option.computed) capture_names(*option.computed, used);
  return used;
}

// What decides the options the set rules give a tensor: which rules match it and, for rules with
// computed options, the captures those options read. Tensors of one signature get the same
// options, so a group's parts are found once per signature, not worked out once per tensor.
class SetRuleSignature {
 public:
  SetRuleSignature(const GroupSet& set, const Matcher& matcher) {
    for (const auto& rule : set.set_rules) {
      std::set<std::string> used = captures_read(rule);
      used_.emplace_back(used.begin(), used.end());
      sources_.push_back(matcher.capture_sources(rule.predicate));
    }
  }

  // Into `out` (cleared first), which the caller reuses from tensor to tensor.
  void of(const SetRuleMatch& matches, const Matcher& matcher, std::size_t tensor, std::string& out) {
    out.clear();
    for (std::size_t r = 0; r < used_.size(); ++r) {
      if (!matches(r, tensor)) continue;
      char digits[24];
      out.append(digits, std::to_chars(digits, digits + sizeof digits, r).ptr);
      if (!used_[r].empty()) {
        captured_.clear();
        matcher.captures(sources_[r], tensor, captured_, scratch_);
        for (const auto& name : used_[r]) {
          auto found = captured_.text(name);
          if (!found) out += '\x1e';  // no capture: told apart from any captured text
          else (out += '=') += *found;
          out += '\x1f';
        }
      }
      out += ';';
    }
  }

 private:
  Captures captured_;
  Matcher::CaptureScratch scratch_;
  std::vector<std::vector<std::string>> used_;  // per set rule: the captures its computed options read
  std::vector<Matcher::CaptureSources> sources_;  // per set rule: the regexes its captures come from
};

}  // namespace

void report_empty_aggregate(const GroupOption& option, std::string_view tensor, Diagnostics& diagnostics) {
  diagnostics.error(code::empty_aggregate, option.span,
                    fmt::format("{} = ... has no value for {}: {} ranges over no parameter of this model", option.key,
                                tensor, option.empty_aggregate),
                    "check the predicate after `where` against the names `taxon eval --all` lists");
}

bool needs_model_values(const Program& program) {
  if (!program.groups) return false;
  bool needed = false;
  for_each_option(const_cast<GroupSet&>(*program.groups), [&](const GroupOption& option) {
    needed = needed || (option.computed && uses_aggregates(*option.computed));
  });
  return needed;
}

std::vector<const Predicate*> aggregate_predicates(const Program& program) {
  std::vector<const Predicate*> predicates;
  if (!program.groups) return predicates;
  for_each_option(const_cast<GroupSet&>(*program.groups), [&](const GroupOption& option) {
    if (option.computed)
      for_each_aggregate(*option.computed, [&](const ValueAggregate& aggregate) { predicates.push_back(&*aggregate.predicate); });
  });
  return predicates;
}

Program resolve_model_values(const Program& program, Matcher& matcher, const TensorTable& table,
                             const AggregateMembers& members_of, unsigned threads, Diagnostics& diagnostics) {
  Program out = program;
  if (!out.groups) return out;
  for_each_option(*out.groups, [&](GroupOption& option) {
    if (!option.computed || !uses_aggregates(*option.computed)) return;
    option.computed = resolve_aggregates(*option.computed, [&](const ValueAggregate& aggregate) {
      matcher.prepare(*aggregate.predicate, diagnostics);
      matcher.remember_captures(*aggregate.predicate);
      double value = aggregate_value(aggregate, members_of(*aggregate.predicate), matcher, table, threads);
      if (std::isnan(value) && option.empty_aggregate.empty()) option.empty_aggregate = aggregate.text;
      return value;
    });
    if (!option.empty_aggregate.empty()) {  // null; an error where a tensor takes it
      option.value = OptionValue{};
      option.computed.reset();
      return;
    }
    if (uses_captures(*option.computed)) return;
    double value = evaluate_value(*option.computed, {});
    option.value = std::isnan(value) ? OptionValue{} : number_value(value);
    option.computed.reset();
  });
  return out;
}

SetRuleValues set_rule_values(const GroupSet& set, const SetRuleMatch& matches, const Matcher& matcher,
                              const TensorTable& table, std::size_t tensor, Diagnostics& diagnostics) {
  SetRuleValues out;
  for (std::size_t r = 0; r < set.set_rules.size(); ++r) {
    if (!matches(r, tensor)) continue;
    const SetRule& rule = set.set_rules[r];
    Captures captured;
    const std::set<std::string> used = captures_read(rule);
    if (!used.empty()) matcher.captures(rule.predicate, tensor, captured);
    std::string label = rule.name;
    for (const auto& name : used) (label += "_") += captured.text(name).value_or("?");
    out.labels.push_back(std::move(label));
    for (const auto& option : rule.options) {
      GroupOption value{option.key, option.value, option.span};
      if (!option.empty_aggregate.empty()) report_empty_aggregate(option, table.tensors[tensor].name, diagnostics);
      if (option.computed) {
        double number = evaluate_value(*option.computed, captured);
        if (std::isnan(number)) {
          diagnostics.error(code::capture_not_number, option.span,
                            fmt::format("{} = {} has no value for {}: a capture it uses did not match a number", option.key,
                                        option.computed_text, table.tensors[tensor].name),
                            "make the capture match digits only, e.g. (?P<i>\\d+)");
          value.value = OptionValue{};
        } else {
          value.value = number_value(number);
        }
      }
      set_option(out.options, std::move(value));
    }
  }
  return out;
}

void split_by_set_rules(const GroupSet& set, const SetRuleMatch& matches, const Matcher& matcher, const TensorTable& table,
                        const std::vector<std::vector<std::size_t>>& frozen, EvalResult& result) {
  std::vector<GroupResult> declared = std::move(result.groups);
  result.groups.clear();
  std::set<std::string> capture_errors;  // one per option, not one per tensor
  SetRuleSignature signature_of(set, matcher);
  std::string signature;
  for (std::size_t g = 0; g < declared.size(); ++g) {
    GroupResult& whole = declared[g];
    whole.rule = whole.name;
    std::vector<GroupResult> parts;
    std::map<std::string, std::size_t> part_of;  // options key -> index in parts
    std::unordered_map<std::string, std::size_t> part_by_signature;
    // The part of the options a tensor ends with; nullptr when none is and `create` is false.
    auto options_part_for = [&](std::size_t tensor, bool create) -> GroupResult* {
      Diagnostics found;
      SetRuleValues values = set_rule_values(set, matches, matcher, table, tensor, found);
      for (const auto& item : found.items())
        if (capture_errors.insert(fmt::format("{}:{}", item.span.line, item.span.col)).second)
          result.diagnostics.report(item);
      std::vector<GroupOption> options = whole.options;
      for (const auto& value : values.options) set_option(options, value);
      // Parts are told apart by the options they end with, whatever rules gave them, in any order.
      std::vector<GroupOption> constants;
      for (const auto& option : options)
        if (!option.computed) constants.push_back(option);
      std::sort(constants.begin(), constants.end(), [](const GroupOption& a, const GroupOption& b) { return a.key < b.key; });
      std::string key = options_key(constants);
      if (auto it = part_of.find(key); it != part_of.end()) return &parts[it->second];
      if (!create) return nullptr;
      GroupResult part{whole.name, std::move(options), {}, whole.is_default, whole.span, {}};
      part.rule = whole.name;
      part.set_by = values.labels;
      if (!values.labels.empty()) {
        bool implicit_default = whole.is_default && !set.default_position;
        part.name = fmt::format("{}{}{}", implicit_default ? "" : whole.name, implicit_default ? "" : "/",
                                fmt::join(values.labels, "/"));
      }
      part_of.emplace(key, parts.size());
      parts.push_back(std::move(part));
      return &parts.back();
    };
    auto part_for = [&](std::size_t tensor, bool create) -> GroupResult* {
      signature_of.of(matches, matcher, tensor, signature);
      if (auto known = part_by_signature.find(signature); known != part_by_signature.end()) return &parts[known->second];
      GroupResult* part = options_part_for(tensor, create);
      if (part) part_by_signature.emplace(signature, static_cast<std::size_t>(part - parts.data()));
      return part;
    };
    for (std::size_t k = 0; k < whole.tensors.size(); ++k) {
      GroupResult* part = part_for(whole.tensors[k], true);
      part->tensors.push_back(whole.tensors[k]);
      if (k < whole.per_tensor.size()) {
        TensorOptions values = std::move(whole.per_tensor[k]);  // `whole` gives way to its parts
        std::erase_if(values.values, [&](const auto& entry) {
          return std::any_of(part->options.begin(), part->options.end(),
                             [&](const GroupOption& o) { return o.key == entry.first && !o.computed; });
        });
        part->per_tensor.push_back(std::move(values));
      }
    }
    if (parts.empty()) {
      whole.frozen = g < frozen.size() ? frozen[g] : std::vector<std::size_t>{};
      result.groups.push_back(std::move(whole));
      continue;
    }
    if (g < frozen.size())
      for (std::size_t tensor : frozen[g]) {
        GroupResult* part = part_for(tensor, false);
        (part ? part : &parts.front())->frozen.push_back(tensor);
      }
    // Two parts of one name would be one group to a reader: number the later ones.
    std::map<std::string, int> seen;
    for (auto& part : parts) {
      if (!part.per_tensor.empty() &&
          std::all_of(part.per_tensor.begin(), part.per_tensor.end(), [](const TensorOptions& t) { return t.values.empty(); }))
        part.per_tensor.clear();
      int count = ++seen[part.name];
      if (count > 1) part.name += fmt::format("#{}", count);
      result.groups.push_back(std::move(part));
    }
  }
}

}  // namespace taxon
