#include "api/eval_report.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "grammar/ir_to_tx.hpp"
#include "grammar/tx_print.hpp"
#include "api/json_stream.hpp"
#include "api/report_json.hpp"

namespace taxon {
namespace {

std::string with_thousands(int64_t number) {
  std::string digits = std::to_string(number);
  std::string out;
  int since_separator = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (since_separator == 3 && *it != '-') {
      out.push_back(',');
      since_separator = 0;
    }
    out.push_back(*it);
    ++since_separator;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string option_text(const OptionValue& value) { return to_json(value).dump(); }

std::string options_text(const std::vector<GroupOption>& options) {
  std::string out;
  for (const auto& option : options) {
    if (!out.empty()) out += ' ';
    out += option.key + "=" + (option.computed ? "(" + option.computed_text + ")" : option_text(option.value));
  }
  return out;
}

nlohmann::ordered_json option_json(const GroupOption& option) {
  if (option.computed) return {{"expr", option.computed_text}};
  return to_json(option.value);
}

// Each tensor's element count, worked out in one pass in table order: summed group by group
// instead, each sum would stride across the whole table and wait on each shape (92k tensors in
// 40 groups: 2 ms, most of the text report).
std::vector<int64_t> element_counts(const TensorTable& table) {
  std::vector<int64_t> counts;
  counts.reserve(table.tensors.size());
  for (const auto& tensor : table.tensors) counts.push_back(tensor.element_count());
  return counts;
}

int64_t element_total(const std::vector<int64_t>& elements, const std::vector<std::size_t>& tensors) {
  int64_t total = 0;
  for (std::size_t i : tensors) total += elements[i];
  return total;
}

// What the folded list hides of a computed option (layer decay): its distinct values over the whole
// group, smallest first, each with how many tensors take it.
void summarize_computed(std::string& out, const std::vector<TensorOptions>& per_tensor) {
  constexpr std::size_t kValuesShown = 8;
  std::vector<std::string> keys;
  for (const auto& entry : per_tensor)
    for (const auto& [key, value] : entry.values)
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  for (const auto& key : keys) {
    std::map<double, std::size_t> numbers;  // by value: a decay's values read in depth order
    std::map<std::string, std::size_t> others;
    std::size_t tensors = 0;
    for (const auto& entry : per_tensor)
      for (const auto& [entry_key, value] : entry.values) {
        if (entry_key != key) continue;
        ++tensors;
        if (const double* real = std::get_if<double>(&value.value)) ++numbers[*real];
        else if (const int64_t* integer = std::get_if<int64_t>(&value.value)) ++numbers[static_cast<double>(*integer)];
        else ++others[option_text(value)];
      }
    std::vector<std::string> parts;
    for (const auto& [number, count] : numbers) parts.push_back(fmt::format("{} ({})", number, count));
    for (const auto& [text, count] : others) parts.push_back(fmt::format("{} ({})", text, count));
    std::size_t distinct = parts.size();
    std::string range = numbers.size() > 1 ? fmt::format(", {} to {}", numbers.begin()->first, numbers.rbegin()->first) : "";
    if (parts.size() > kValuesShown) {
      parts.resize(kValuesShown);
      parts.push_back("...");
    }
    out += fmt::format("      {} over its {} tensors: {} value{}{}: {}\n", key, tensors, distinct, distinct == 1 ? "" : "s", range,
                       fmt::join(parts, ", "));
  }
}

void list_names(std::string& out, const TensorTable& table, const std::vector<std::size_t>& tensors,
                const TextReportOptions& options, const std::vector<TensorOptions>& per_tensor = {}) {
  std::size_t shown = options.list_all ? tensors.size() : std::min(tensors.size(), options.folded_after);
  std::size_t width = 0;
  for (std::size_t k = 0; k < shown && !per_tensor.empty(); ++k) width = std::max(width, table.tensors[tensors[k]].name.size());
  for (std::size_t k = 0; k < shown; ++k) {
    out += fmt::format("      {}", table.tensors[tensors[k]].name);
    if (k < per_tensor.size()) {
      out += std::string(width - table.tensors[tensors[k]].name.size() + 2, ' ');
      for (const auto& [key, value] : per_tensor[k].values) out += fmt::format(" {}={}", key, option_text(value));
    }
    out += "\n";
  }
  if (shown < tensors.size()) out += fmt::format("      ... and {} more (--all lists them)\n", tensors.size() - shown);
  if (shown < tensors.size()) summarize_computed(out, per_tensor);
}

std::string count_line(const std::vector<int64_t>& elements, const std::vector<std::size_t>& tensors) {
  return fmt::format("{:>5} tensor{}  {:>13} elements", tensors.size(), tensors.size() == 1 ? " " : "s",
                     with_thousands(element_total(elements, tensors)));
}

}  // namespace

std::string render_eval_text(const EvalResult& result, const TensorTable& table, const std::string& rules_path,
                             const std::string& dump_path, const TextReportOptions& options) {
  std::size_t parameters = 0, buffers = 0, unknown = 0, tied = 0;
  for (const auto& tensor : table.tensors) {
    if (tensor.tied_to) ++tied;
    else if (tensor.kind == TensorKind::parameter) ++parameters;
    else if (tensor.kind == TensorKind::buffer) ++buffers;
    else ++unknown;
  }
  // A checkpoint read directly is named after its own path: once is enough.
  bool name_only = table.model.empty() || table.model.ends_with(" " + dump_path);
  std::string out = fmt::format("{} on {}{}\n", rules_path, table.model.empty() ? dump_path : table.model,
                                name_only ? "" : fmt::format(" ({})", dump_path));
  if (unknown > 0 && parameters + buffers == 0)
    out += fmt::format("  {} tensors from a checkpoint, which does not say which are parameters and which buffers: rules "
                       "see them all as parameters",
                       unknown);
  else if (unknown > 0)
    out += fmt::format("  {} parameters, {} buffers, {} of unknown kind", parameters, buffers, unknown);
  else
    out += fmt::format("  {} parameters, {} buffers", parameters, buffers);
  if (tied > 0) out += fmt::format(", {} more names tied to them (counted once)", tied);
  out += "\n";

  std::vector<int64_t> elements;
  if (!result.selections.empty() || !result.groups.empty()) elements = element_counts(table);
  std::size_t width = 0;
  for (const auto& s : result.selections) width = std::max(width, s.name.size());
  for (const auto& g : result.groups) width = std::max(width, g.name.size());

  if (!result.selections.empty()) {
    out += "\nselections\n";
    for (const auto& selection : result.selections) {
      out += fmt::format("  {:<{}}  {}\n", selection.name, width, count_line(elements, selection.tensors));
      list_names(out, table, selection.tensors, options);
    }
  }
  if (result.has_groups) {
    out += fmt::format("\ngroups ({})\n", result.mode == GroupMode::overlap
                                              ? "overlap mode: a parameter joins every group that matches"
                                              : "first-match mode: a parameter joins the first group that matches");
    for (const auto& group : result.groups) {
      out += fmt::format("  {:<{}}  {}  {}{}\n", group.name, width, count_line(elements, group.tensors),
                         options_text(group.options),
                         group.frozen.empty() ? "" : fmt::format("  ({} frozen left out)", group.frozen.size()));
      list_names(out, table, group.tensors, options, group.per_tensor);
    }
    if (!result.overlaps.empty()) {
      out += fmt::format("\noverlaps: {} parameter{} matched by two or more groups\n", result.overlaps.size(),
                         result.overlaps.size() == 1 ? "" : "s");
      std::size_t shown = options.list_all ? result.overlaps.size() : std::min(result.overlaps.size(), options.folded_after);
      std::size_t name_width = 0;
      for (std::size_t k = 0; k < shown; ++k)
        name_width = std::max(name_width, table.tensors[result.overlaps[k].tensor].name.size());
      for (std::size_t k = 0; k < shown; ++k) {
        const auto& overlap = result.overlaps[k];
        out += fmt::format("      {:<{}}  {}", table.tensors[overlap.tensor].name, name_width, fmt::join(result.group_names(overlap.groups), ", "));
        if (overlap.assigned.size() != overlap.groups.size())
          out += fmt::format("  (joins {})", fmt::join(result.group_names(overlap.assigned), ", "));
        out += "\n";
      }
      if (shown < result.overlaps.size())
        out += fmt::format("      ... and {} more (--all lists them)\n", result.overlaps.size() - shown);
    }
  }
  return out;
}

std::string render_eval_json(const EvalResult& result, const TensorTable& table) {
  std::string out;
  write_eval_json(result, table, [&](std::string_view piece) { out += piece; });
  return out;
}

void write_eval_json(const EvalResult& result, const TensorTable& table, const JsonStream::Write& write) {
  std::string out;
  JsonStream json(out, write);
  auto names = [&](const std::vector<std::size_t>& tensors) {
    json.begin_array();
    for (std::size_t i : tensors) json.string(table.tensors[i].name);
    json.end_array();
  };
  auto strings = [&](const std::vector<std::string>& list) {
    json.begin_array();
    for (const auto& text : list) json.string(text);
    json.end_array();
  };
  json.begin_object();
  json.key("selections");
  json.begin_object();
  for (const auto& selection : result.selections) {
    json.key(selection.name);
    names(selection.tensors);
  }
  json.end_object();
  json.key("groups");
  json.begin_object();
  for (const auto& group : result.groups) {
    json.key(group.name);
    json.begin_object();
    json.key("options");
    json.begin_object();
    for (const auto& option : group.options) {
      json.key(option.key);
      json.value(option_json(option));
    }
    json.end_object();
    json.key("tensors");
    names(group.tensors);
    if (!group.set_by.empty()) {
      json.key("rule");
      json.string(group.rule);
      json.key("set_by");
      strings(group.set_by);
    }
    if (!group.frozen.empty()) {
      json.key("frozen");
      json.value(group.frozen.size());
    }
    if (!group.per_tensor.empty()) {
      json.key("per_tensor");
      json.begin_object();
      for (const auto& tensor : group.per_tensor) {
        json.key(table.tensors[tensor.tensor].name);
        json.begin_object();
        for (const auto& [key, value] : tensor.values) {
          json.key(key);
          json.value(to_json(value));
        }
        json.end_object();
      }
      json.end_object();
    }
    json.end_object();
  }
  json.end_object();
  json.key("overlaps");
  json.begin_array();
  for (const auto& overlap : result.overlaps) {
    json.begin_object();
    json.key("tensor");
    json.string(table.tensors[overlap.tensor].name);
    json.key("groups");
    strings(result.group_names(overlap.groups));
    json.key("assigned");
    strings(result.group_names(overlap.assigned));
    json.end_object();
  }
  json.end_array();
  json.key("diagnostics");
  json.begin_array();
  for (const auto& diagnostic : result.diagnostics.items()) json.value(to_json(diagnostic));
  json.end_array();
  json.end_object();
  json.flush();
}

std::string render_evaluation_plan(const EvaluationPlan& plan, const std::string& rules_path, const std::string& dump_path) {
  std::string out = fmt::format("evaluation plan for {} on {}\n", rules_path, dump_path);
  out += "rules after the passes (flatten, fold, dedupe, cheap terms first), with their estimated cost per tensor:\n";
  std::size_t rule = 0;
  for (const auto& selection : plan.optimized.selections)
    out += fmt::format("  {} {}: {}  [cost {}]\n", selection.freezes ? "freeze" : "select", selection.name,
                       tx::print_expr(tx::to_expr(selection.predicate)), plan.costs[rule++]);
  if (plan.optimized.groups)
    for (const auto& group : plan.optimized.groups->groups)
      out += fmt::format("  group {}: {}  [cost {}]\n", group.name, tx::print_expr(tx::to_expr(group.predicate)), plan.costs[rule++]);
  if (plan.optimized.groups)
    for (const auto& set_rule : plan.optimized.groups->set_rules)
      out += fmt::format("  set {}: {}  [cost {}]\n", set_rule.name, tx::print_expr(tx::to_expr(set_rule.predicate)),
                         plan.costs[rule++]);
  out += "compiled for the whole table at once:\n";
  std::string compiled = plan.compiled;
  for (std::size_t at = 0; at < compiled.size();) {
    std::size_t end = compiled.find('\n', at);
    if (end == std::string::npos) end = compiled.size();
    out += "  " + compiled.substr(at, end - at) + "\n";
    at = end + 1;
  }
  return out;
}

}  // namespace taxon
