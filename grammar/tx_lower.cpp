// Lowering's statements, checkpoint plans and the entry points; predicates are in tx_lower_predicate.cpp, option
// values in tx_lower_values.cpp.
#include "grammar/tx_lower.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/dtype.hpp"
#include "engine/option_keys.hpp"
#include "engine/plans/plan.hpp"
#include "engine/regex.hpp"
#include "engine/plans/tensor_actions.hpp"
#include "grammar/tx_lower_internal.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"

namespace taxon::tx {
namespace {

bool mentions_kind(const Predicate& predicate) {
  return std::visit(
      [](const auto& node) -> bool {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, KindIs>) return true;
        else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>)
          return std::any_of(node.terms.begin(), node.terms.end(), mentions_kind);
        else if constexpr (std::is_same_v<Node, Not>) return mentions_kind(*node.term);
        else return false;
      },
      predicate.node);
}

std::size_t predicate_size(const Predicate& predicate) {
  return std::visit(
      [](const auto& node) -> std::size_t {
        using Node = std::decay_t<decltype(node)>;
        std::size_t size = 1;
        if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>)
          for (const auto& term : node.terms) size += predicate_size(term);
        else if constexpr (std::is_same_v<Node, Not>) size += predicate_size(*node.term);
        return size;
      },
      predicate.node);
}

}  // namespace

namespace detail {

// Named captures of every regex a tensor must match for the predicate to hold
// (those under `not` never bind).
void collect_captures(const Predicate& predicate, std::set<std::string>& names) {
  std::visit(
      [&](const auto& node) {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, StringMatch>) {
          if (node.op == MatchOp::regex)
            for (const auto& pattern : node.patterns)
              for (auto& name : regex_capture_names(pattern)) names.insert(std::move(name));
        } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          for (const auto& term : node.terms) collect_captures(term, names);
        }
      },
      predicate.node);
}


Lowered Lowering::run(const File& file, const std::vector<std::pair<std::string, std::string>>& parameters) {
  lowered_.program.groups = GroupSet{};
  lowered_.program.groups->mode = GroupMode::first_match;
  ParameterValues given = caller_parameters(parameters);
  given.file = file.source->path;
  lower_file(file, true, std::move(given));
  for (const auto& [name, binding] : bindings_)
    if (binding.from_root_file && !binding.used)
      lowered_.lint.warning(code::unused_binding, binding.span, fmt::format("binding {} is never used", name),
                            "remove it, or use it in a rule");
  for (const auto& [name, binding] : values_)
    if (binding.from_root_file && !binding.used)
      lowered_.lint.warning(code::unused_binding, binding.span, fmt::format("value {} is never used", name),
                            "remove it, or use it in an option");
  GroupSet& set = *lowered_.program.groups;
  if (!has_fallback_) set.default_span = SourceSpan{file.source, 0, 0, 1};  // implicit: the file as a whole
  if (set.groups.empty() && set.set_rules.empty() && !has_fallback_ && set.default_options.empty())
    lowered_.program.groups.reset();
  return std::move(lowered_);
}

// `--param NAME=VALUE`: VALUE is read as the language reads a value; what does not read as one
// (`--param prefix=head.`) is a string.
ParameterValues Lowering::caller_parameters(const std::vector<std::pair<std::string, std::string>>& parameters) {
  ParameterValues out;
  for (const auto& [name, text] : parameters) {
    auto source = std::make_shared<SourceFile>(SourceFile{"--param", "param " + name + " = " + text});
    Diagnostics ignored;
    File file = parse(source, ignored);
    const Param* param = file.statements.size() == 1 ? std::get_if<Param>(&file.statements[0].node) : nullptr;
    const auto* literal = param ? std::get_if<Literal>(&param->value.node) : nullptr;
    bool bare_word = literal && literal->kind == Literal::Kind::word && literal->text != "true" &&
                     literal->text != "false" && literal->text != "null";
    ValueBinding binding;
    if (!ignored.has_errors() && param && !bare_word) {
      binding = lower_binding_value(param->value);
    } else {
      binding.constant.value = text;
      binding.text = text;
    }
    // Shown as given: `--param:1:1` underlines the name in `decay=0.75`.
    auto shown = std::make_shared<SourceFile>(SourceFile{"--param", name + "=" + text});
    binding.span = SourceSpan{shown, 1, 1, static_cast<uint32_t>(std::max<std::size_t>(name.size(), 1))};
    out.values.insert_or_assign(name, std::move(binding));
  }
  return out;
}

void Lowering::lower_file(const File& file, bool root, ParameterValues parameters) {
  import_stack_.push_back(file.source->path);
  parameters.file = file.source->path;
  parameter_stack_.push_back(std::move(parameters));
  for (const auto& statement : file.statements)
    std::visit([&](const auto& node) { lower_statement(node, statement, root); }, statement.node);
  report_unused_parameters(parameter_stack_.back());
  parameter_stack_.pop_back();
  import_stack_.pop_back();
}

void Lowering::report_unused_parameters(const ParameterValues& parameters) {
  std::vector<std::string> declared(parameters.declared.begin(), parameters.declared.end());
  for (const auto& [name, given] : parameters.values) {
    if (given.used) continue;
    diagnostics_.error(code::unknown_parameter, given.span,
                       fmt::format("{} declares no parameter `{}`", parameters.file, name),
                       suggest(name, declared,
                               declared.empty() ? std::string("it declares none: a file declares one with `param NAME = DEFAULT`")
                                                : fmt::format("it declares {}", fmt::join(declared, ", "))));
  }
}

void Lowering::lower_statement(const Import& import, const Statement&, bool) {
  if (!resolve_) {
    diagnostics_.error(code::import_failed, import.path_span, fmt::format("cannot import \"{}\" here", import.path),
                       "imports are resolved when taxon reads rule files from disk");
    return;
  }
  std::string error;
  SourceRef imported = resolve_(import.path, *import.path_span.file, error);
  if (!imported) {
    diagnostics_.error(code::import_failed, import.path_span, fmt::format("cannot import \"{}\": {}", import.path, error),
                       "imports are found next to the importing file, then in taxon's stdlib/");
    return;
  }
  if (std::find(import_stack_.begin(), import_stack_.end(), imported->path) != import_stack_.end()) {
    diagnostics_.error(code::import_cycle, import.path_span, fmt::format("\"{}\" imports itself, through this line", import.path),
                       "remove one of the imports that form the cycle");
    return;
  }
  ParameterValues given;
  for (const auto& option : import.with) {
    ValueBinding binding = lower_binding_value(option.value);
    binding.span = option.span;
    if (!given.values.emplace(option.key, std::move(binding)).second)
      diagnostics_.error(code::duplicate_name, option.span, fmt::format("parameter {} is given twice", option.key),
                         "keep one of them");
  }
  if (!imported_.insert(imported->path).second) {  // each file once
    if (!import.with.empty())
      diagnostics_.error(code::duplicate_name, import.path_span,
                         fmt::format("\"{}\" is imported already: its parameters are set where it is first imported",
                                     import.path),
                         "import it once, with every parameter it needs");
    return;
  }
  File file = parse(imported, diagnostics_);
  lower_file(file, false, std::move(given));
}

void Lowering::lower_statement(const ModeDecl& mode, const Statement& statement, bool) {
  GroupSet& set = *lowered_.program.groups;
  if (mode.off) {
    set.enabled = false;
    set.enabled_span = statement.span;
  } else {
    set.mode = mode.mode;
  }
}

void Lowering::lower_statement(const MatchWithout& match, const Statement&, bool) { lowered_.program.strip_name_prefix = match.prefix; }

void Lowering::lower_statement(const StagesDecl& stages, const Statement&, bool) {
  StageMap map;
  for (const auto& [stage, patterns] : stages.stages) {
    std::vector<std::string> texts;
    for (const auto& pattern : patterns) texts.push_back(pattern.text);
    map.stages.emplace_back(stage.text, std::move(texts));
  }
  lowered_.program.stage_map = std::move(map);
}

ValueBinding Lowering::lower_binding_value(const Value& value) {
  ValueBinding binding;
  bool computed = false;
  std::optional<ValueExpr> expr = lower_value(value, {}, computed, binding.constant);
  if (computed) binding.expr = std::move(expr);  // an aggregate: known once the model is
  binding.text = print_value(value);
  return binding;
}

void Lowering::bind_value(const std::string& name, const SourceSpan& name_span, ValueBinding binding, bool root) {
  if (auto existing = values_.find(name); existing != values_.end()) {
    if (root)
      lowered_.lint.warning(code::shadowed_binding, name_span,
                            fmt::format("value {} shadows the one on line {}", name, existing->second.span.line),
                            "rules after this line see the new value; rename one of them to keep both");
    existing->second.used = true;
  }
  binding.span = name_span;
  binding.from_root_file = root;
  values_.insert_or_assign(name, std::move(binding));
}

void Lowering::lower_statement(const Param& param, const Statement&, bool root) {
  ParameterValues& given = parameter_stack_.back();
  given.declared.insert(param.name);
  if (auto found = given.values.find(param.name); found != given.values.end()) {
    found->second.used = true;
    bind_value(param.name, param.name_span, found->second, root);
    return;
  }
  bind_value(param.name, param.name_span, lower_binding_value(param.value), root);
}

void Lowering::lower_statement(const Let& let, const Statement&, bool root) {
  const auto* alias = std::get_if<Ref>(&let.expr.node);
  if (let.value || (alias && !bindings_.contains(alias->name) && values_.contains(alias->name))) {
    Value value = let.value ? *let.value : Value{Literal{Literal::Kind::word, alias->name, let.expr.span}, let.expr.span};
    bind_value(let.name, let.name_span, lower_binding_value(value), root);
    return;
  }
  Predicate predicate = lower(let.expr);
  if (auto existing = bindings_.find(let.name); existing != bindings_.end()) {
    if (root)
      lowered_.lint.warning(code::shadowed_binding, let.name_span,
                            fmt::format("binding {} shadows the one on line {}", let.name, existing->second.span.line),
                            "rules after this line see the new meaning; rename one of them to keep both");
    existing->second.used = true;  // do not also report the earlier one as unused
  }
  std::size_t size = predicate_size(predicate);
  bindings_.insert_or_assign(let.name, Binding{std::move(predicate), let.name_span, false, root, size});
}

void Lowering::lower_statement(const Select& select, const Statement& statement, bool) {
  if (!claim_name(selection_names_, select.name, select.name_span, "selection")) return;
  Predicate predicate = lower(select.expr);
  Universe universe = mentions_kind(predicate) ? Universe::all_tensors : Universe::parameters;
  lowered_.program.selections.push_back(Selection{select.name, std::move(predicate), universe, statement.span});
}

void Lowering::lower_statement(const GroupDecl& group, const Statement& statement, bool) {
  if (!claim_name(group_names_, group.name, group.name_span, "group")) return;
  GroupSet& set = *lowered_.program.groups;
  if (!group.expr) {
    if (has_fallback_) {  // a second one would silently replace the first
      diagnostics_.error(code::duplicate_name, group.name_span,
                         fmt::format("a second default group: `{}` on line {} already takes what no other group does",
                                     set.default_name, set.default_span.line),
                         "give this group a filter (`group NAME : FILTER { ... }`), or merge its options into the first");
      return;
    }
    has_fallback_ = true;
    check_option_keys(group.options, statement.span.line);
    set.default_position = set.groups.size();
    set.default_name = group.name;
    set.default_span = group.name_span;
    set.default_options = lower_options(group.options, {});
    return;
  }
  check_option_keys(group.options, statement.span.line);
  Predicate predicate = lower(*group.expr);
  std::set<std::string> captures;
  collect_captures(predicate, captures);
  set.groups.push_back(Group{group.name, std::move(predicate), lower_options(group.options, captures), group.name_span});
}

void Lowering::lower_statement(const SetDecl& rule, const Statement& statement, bool) {
  if (!claim_name(group_names_, rule.name, rule.name_span, "set rule")) return;
  check_option_keys(rule.options, statement.span.line);
  Predicate predicate = lower(rule.expr);
  std::set<std::string> captures;
  collect_captures(predicate, captures);
  lowered_.program.groups->set_rules.push_back(
      SetRule{rule.name, std::move(predicate), lower_options(rule.options, captures), rule.name_span});
}

void Lowering::lower_statement(const KeepFrozen&, const Statement& statement, bool) {
  lowered_.program.groups->frozen_join_groups = true;
  lowered_.program.groups->frozen_join_span = statement.span;
}

void Lowering::check_option_keys(const std::vector<Option>& options, uint32_t statement_line) {
  for (const auto& option : options) {
    if (known_option_key(option.key)) continue;
    std::string closest = closest_match(option.key, known_option_keys());
    std::string declare = fmt::format("say so with `# taxon: allow {}` on this line or above the statement",
                                      code::unknown_option);
    diagnostics_.report({std::string(code::unknown_option), Severity::warning, option.span,
                         fmt::format("`{}` is not an option any torch.optim optimizer or taxon reads", option.key),
                         closest.empty() ? fmt::format("if your optimizer takes it, {}", declare)
                                         : fmt::format("did you mean '{}'? If your optimizer takes `{}`, {}", closest,
                                                       option.key, declare),
                         statement_line});
  }
}

void Lowering::lower_statement(const Defaults& defaults, const Statement& statement, bool) {
  if (defaults_span_) {  // a second block would silently replace the first
    diagnostics_.error(code::duplicate_name, statement.span,
                       fmt::format("a second `defaults` block; the first is on line {}", defaults_span_->line),
                       "merge their options into one `defaults { ... }` block");
    return;
  }
  defaults_span_ = statement.span;
  check_option_keys(defaults.options, statement.span.line);
  lowered_.program.groups->inherited_options = lower_options(defaults.options, {});
}

void Lowering::lower_statement(const Exclude& exclude, const Statement& statement, bool) {
  std::string name = exclude.name + "_exclude";
  if (!claim_name(selection_names_, name, exclude.name_span, "exclusion")) return;
  Predicate predicate = lower(exclude.expr);
  if (exclude.name == "gradnorm")  // frozen parameters never take part in GradNorm
    predicate = Predicate{AnyOf{{std::move(predicate), Predicate{RequiresGrad{false}, exclude.expr.span}}}, exclude.expr.span};
  lowered_.program.selections.push_back(Selection{name, std::move(predicate), Universe::parameters, statement.span});
}

void Lowering::lower_statement(const Freeze& freeze, const Statement& statement, bool) {
  if (auto first = selection_names_.find("freeze"); first != selection_names_.end()) {
    diagnostics_.error(code::duplicate_name, statement.span,
                       fmt::format("a second `freeze` rule; the first is on line {}", first->second.line),
                       "a file has one `freeze` rule: combine the two with `or` (`freeze : A or B`)");
    return;
  }
  claim_name(selection_names_, "freeze", statement.span, "freeze rule");
  lowered_.program.selections.push_back(Selection{"freeze", lower(freeze.expr), Universe::parameters, statement.span, true});
}

void Lowering::lower_statement(const Plan& plan, const Statement& statement, bool) {
  CheckpointPlan lowered{plan.name, std::nullopt, {}, {}, statement.span};
  for (const auto& item : plan.items) {
    std::visit([&](const auto& node) { lower_plan_item(node, item.span, lowered); }, item.node);
  }
  lowered_.plans.push_back(plan);
  lowered_.checkpoint_plans.push_back(std::move(lowered));
}

void Lowering::lower_plan_item(const PlanFrom& from, const SourceSpan&, CheckpointPlan& plan) {
  for (const auto& source : from.sources)
    plan.sources.push_back(source.kind == Literal::Kind::word && source.text == "root" ? "" : source.text);
}

void Lowering::lower_plan_item(const PlanText& text, const SourceSpan& span, CheckpointPlan& plan) {
  if (text.verb == "strip") plan.steps.push_back(PlanStep{step::Strip{text.text.text}, span});
  else plan.steps.push_back(PlanStep{step::AddPrefix{text.text.text}, span});
}

void Lowering::lower_plan_item(const PlanPredicate& item, const SourceSpan& span, CheckpointPlan& plan) {
  plan.steps.push_back(PlanStep{step::Drop{lower(item.expr), item.verb == "keep", item.verb + " " + print_expr(item.expr)}, span});
}

void Lowering::lower_plan_item(const PlanRewrite& item, const SourceSpan& span, CheckpointPlan& plan) {
  check_pattern(item.pattern);
  if (item.verb == "renumber") {
    if (item.pattern.text.find("(?P<outer>") == std::string::npos || item.pattern.text.find("(?P<inner>") == std::string::npos)
      return diagnostics_.error(code::bad_value, item.pattern.span, "`renumber` reads the indices captured as `outer` and `inner`",
                                "e.g. renumber /proc\\.(?P<outer>\\d+)\\.blocks\\.(?P<inner>\\d+)/ -> \"proc.${index}\"");
    if (item.replacement.text.find("${index}") == std::string::npos)
      return diagnostics_.error(code::bad_value, item.replacement.span, "`renumber` writes the flat index as ${index}",
                                "e.g. -> \"proc.${index}\"");
    check_template(item.pattern, item.replacement, true);
    plan.steps.push_back(PlanStep{step::Renumber{item.pattern.text, item.replacement.text}, span});
    return;
  }
  check_template(item.pattern, item.replacement);
  plan.steps.push_back(PlanStep{step::Rename{item.pattern.text, item.replacement.text, item.verb == "copy"}, span});
}

void Lowering::lower_plan_item(const PlanTransform& item, const SourceSpan& span, CheckpointPlan& plan) {
  const TensorActionSpec* spec = find_tensor_action(item.action);
  std::vector<GroupOption> options = lower_options(action_options(item.options, spec), {});
  if (spec) {
    for (const auto& problem : check_action_options(*spec, options)) {
      auto option = std::find_if(options.begin(), options.end(), [&](const GroupOption& o) { return o.key == problem.key; });
      diagnostics_.error(problem.unknown_option ? code::unknown_action : code::bad_value,
                         option != options.end() ? option->span : span,
                         fmt::format("`{} {}`: {}", item.verb, item.action, problem.message), problem.hint);
    }
  } else {
    std::vector<std::string> names;
    for (const auto& known : tensor_actions()) names.emplace_back(known.name);
    diagnostics_.error(code::unknown_action, span, fmt::format("no tensor action `{}`", item.action),
                       suggest(item.action, names, fmt::format("the actions are {}", fmt::join(names, ", "))));
  }
  plan.steps.push_back(PlanStep{step::Transform{item.verb, item.action, lower(item.where), std::move(options)}, span});
}

// An action's string options read bare words as strings (`mode = bicubic`): they name a
// value from a fixed set, never a capture (actions have none). A word that names a `let` or
// `param` is that value (`mode = table_mode`), so a plan can take its modes as parameters.
std::vector<Option> Lowering::action_options(std::vector<Option> options, const TensorActionSpec* spec) {
  if (!spec) return options;
  for (auto& option : options) {
    auto known = std::find_if(spec->options.begin(), spec->options.end(),
                              [&](const ActionOptionSpec& s) { return s.name == option.key; });
    auto* literal = std::get_if<Literal>(&option.value.node);
    if (known != spec->options.end() && known->type == ActionOptionType::string && literal &&
        literal->kind == Literal::Kind::word && literal->text != "true" && literal->text != "false" &&
        literal->text != "null" && !values_.contains(literal->text))
      literal->kind = Literal::Kind::string;
    // `cast` takes every spelling of a dtype the language does (`to = bf16`), as PyTorch names it.
    if (spec->name == "cast" && option.key == "to" && literal && literal->kind == Literal::Kind::string)
      if (auto dtype = dtype_from_spelling(literal->text)) literal->text = dtype_name(*dtype);
  }
  return options;
}

void Lowering::lower_plan_item(const PlanSurgery& item, const SourceSpan& span, CheckpointPlan& plan) {
  check_pattern(item.pattern);
  for (const auto& other : item.others) check_template(item.pattern, other);
  for (const auto& output : item.outputs) check_template(item.pattern, output, item.verb == "unstack");
  std::vector<GroupOption> options = lower_options(item.options, {});
  const std::string& verb = item.verb;
  check_step_options("`" + verb + "`", options, verb == "split" ? std::vector<std::string_view>{"dim", "sizes"}
                                                                : std::vector<std::string_view>{"dim"});
  int64_t dim = int_option(options, "dim").value_or(0);
  std::vector<std::string> outputs;
  for (const auto& output : item.outputs) outputs.push_back(output.text);
  auto shape_error = [&](std::string message, std::string hint) { diagnostics_.error(code::bad_value, span, message, hint); };
  if (verb == "split") {
    if (!item.others.empty() || outputs.size() < 2)
      return shape_error("`split` takes one /regex/ and two or more names", "split /(.*)\\.qkv\\./ -> \"$1.q.\", \"$1.k.\", \"$1.v.\"");
    std::vector<int64_t> sizes = int_list_option(options, "sizes").value_or(std::vector<int64_t>{});
    if (find_option(options, "sizes") && sizes.size() != outputs.size())
      return shape_error(fmt::format("`sizes` needs {} whole numbers, one per part", outputs.size()), "e.g. sizes = [512, 128, 128]");
    plan.steps.push_back(PlanStep{step::Split{item.pattern.text, std::move(outputs), dim, std::move(sizes)}, span});
  } else if (verb == "fuse") {
    if (item.others.empty() || outputs.size() != 1)
      return shape_error("`fuse` takes a /regex/ for the first part, the other parts' names, and one name to fuse into",
                         "fuse /(.*)\\.q_proj\\./, \"$1.k_proj.\", \"$1.v_proj.\" -> \"$1.qkv.\"");
    std::vector<std::string> others;
    for (const auto& other : item.others) others.push_back(other.text);
    plan.steps.push_back(PlanStep{step::Fuse{item.pattern.text, std::move(others), outputs[0], dim}, span});
  } else {
    if (!item.others.empty() || outputs.size() != 1)
      return shape_error(fmt::format("`{}` takes one /regex/ and one name", verb), "");
    if (verb == "stack" && item.pattern.text.find("(?P<index>") == std::string::npos)
      return diagnostics_.error(code::bad_value, item.pattern.span, "`stack` orders its tensors by a capture named `index`",
                                "capture the position with (?P<index>\\d+), e.g. /experts\\.(?P<index>\\d+)\\.w1/");
    if (verb == "unstack" && outputs[0].find("${index}") == std::string::npos)
      return diagnostics_.error(code::bad_value, item.outputs[0].span, "`unstack` names each tensor it makes with ${index}",
                                "e.g. unstack /experts\\.down_proj$/ -> \"experts.${index}.w2.weight\"");
    if (verb == "stack") plan.steps.push_back(PlanStep{step::Stack{item.pattern.text, outputs[0], dim}, span});
    else plan.steps.push_back(PlanStep{step::Unstack{item.pattern.text, outputs[0], dim}, span});
  }
}

void Lowering::check_step_options(const std::string& what, const std::vector<GroupOption>& options,
                                  const std::vector<std::string_view>& allowed) {
  for (const auto& option : options) {
    if (std::find(allowed.begin(), allowed.end(), option.key) != allowed.end()) continue;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    diagnostics_.error(code::unknown_action, option.span, fmt::format("{} takes no option `{}`", what, option.key),
                       suggest(option.key, names, names.empty() ? std::string("it takes no options")
                                                                : fmt::format("it takes {}", fmt::join(names, ", "))));
  }
}

void Lowering::lower_plan_item(const PlanWords&, const SourceSpan& span, CheckpointPlan& plan) {
  plan.steps.push_back(PlanStep{step::SkipMismatched{}, span});
}

void Lowering::lower_plan_item(const PlanLoad& item, const SourceSpan& span, CheckpointPlan& plan) {
  step::Load load;
  for (const auto& option : lower_options(item.options, {})) {
    const bool* flag = std::get_if<bool>(&option.value.value);
    if (option.key == "strict" && flag) load.strict = *flag;
    else
      diagnostics_.error(code::bad_value, option.span, fmt::format("`load` takes `strict = true|false`, not `{}`", option.key),
                         "write `load strict = false` to allow missing and unexpected keys");
  }
  plan.steps.push_back(PlanStep{load, span});
}

bool Lowering::claim_name(std::map<std::string, SourceSpan>& names, const std::string& name, const SourceSpan& span,
                          std::string_view what) {
  auto [existing, inserted] = names.emplace(name, span);
  if (inserted) return true;
  diagnostics_.error(code::duplicate_name, span,
                     fmt::format("{} {} is already defined on line {}", what, name, existing->second.line),
                     "give each one its own name");
  return false;
}

void Lowering::check_template(const Literal& pattern, const Literal& replacement, bool supplies_index) {
  if (auto problem = template_problem(pattern.text, replacement.text,
                                      supplies_index ? std::vector<std::string>{"index"} : std::vector<std::string>{}))
    diagnostics_.error(code::plan_template, replacement.span, problem->message, problem->hint);
}

}  // namespace detail

std::string canonical_dtype(std::string_view spelling) {
  std::optional<DType> dtype = dtype_from_spelling(spelling);
  return dtype ? std::string(dtype_name(*dtype)) : std::string();
}

Lowered lower(const File& file, Diagnostics& diagnostics, const ImportResolver& resolve, const Parameters& parameters) {
  return detail::Lowering(diagnostics, resolve).run(file, parameters);
}

Lowered parse_and_lower(const SourceRef& source, Diagnostics& diagnostics, const ImportResolver& resolve,
                        const Parameters& parameters) {
  File file = parse(source, diagnostics);
  return lower(file, diagnostics, resolve, parameters);
}

}  // namespace taxon::tx
