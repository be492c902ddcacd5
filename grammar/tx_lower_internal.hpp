// Internal to lower(): the Lowering pass, its predicates in tx_lower_predicate.cpp and the rest in tx_lower.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/tx_lower.hpp"

namespace taxon {
struct TensorActionSpec;
}

namespace taxon::tx::detail {

// Named captures of every regex a tensor must match for the predicate to hold (those under `not`
// never bind).
void collect_captures(const Predicate& predicate, std::set<std::string>& names);

struct Binding {
  Predicate predicate;
  SourceSpan span;
  bool used = false;
  bool from_root_file = false;
  std::size_t size = 1;  // nodes in `predicate`: what one use of the binding inlines
};

// A value named by `let` or `param`: a constant, or an expression over the model (aggregates).
struct ValueBinding {
  OptionValue constant;
  std::optional<ValueExpr> expr;  // set when it depends on the model
  std::string text;               // as written, for reports
  SourceSpan span;
  bool used = false;
  bool from_root_file = false;
};

// The parameters a file is given: by `import ... with { }`, or for the root file by the caller.
struct ParameterValues {
  std::map<std::string, ValueBinding> values;
  std::set<std::string> declared;  // what the file declares with `param`
  std::string file;                // for messages
};

class Lowering {
 public:
  Lowering(Diagnostics& diagnostics, const ImportResolver& resolve) : diagnostics_(diagnostics), resolve_(resolve) {}

  Lowered run(const File& file, const std::vector<std::pair<std::string, std::string>>& parameters = {});

 private:
  void lower_file(const File& file, bool root, ParameterValues parameters);
  void report_unused_parameters(const ParameterValues& parameters);
  ParameterValues caller_parameters(const std::vector<std::pair<std::string, std::string>>& parameters);
  ValueBinding lower_binding_value(const Value& value);
  void lower_statement(const Import& import, const Statement&, bool);
  void lower_statement(const ModeDecl& mode, const Statement& statement, bool);
  void lower_statement(const MatchWithout& match, const Statement&, bool);
  void lower_statement(const StagesDecl& stages, const Statement&, bool);
  void lower_statement(const Let& let, const Statement&, bool root);
  void lower_statement(const Param& param, const Statement&, bool root);
  void lower_statement(const SetDecl& set, const Statement&, bool);
  void lower_statement(const KeepFrozen&, const Statement& statement, bool);
  void bind_value(const std::string& name, const SourceSpan& name_span, ValueBinding binding, bool root);
  void lower_statement(const Select& select, const Statement& statement, bool);
  void lower_statement(const GroupDecl& group, const Statement&, bool);
  void lower_statement(const Defaults& defaults, const Statement&, bool);
  void lower_statement(const Exclude& exclude, const Statement& statement, bool);
  void lower_statement(const Freeze& freeze, const Statement& statement, bool);
  void lower_statement(const Plan& plan, const Statement& statement, bool);
  void lower_plan_item(const PlanFrom& from, const SourceSpan&, CheckpointPlan& plan);
  void lower_plan_item(const PlanText& text, const SourceSpan& span, CheckpointPlan& plan);
  void lower_plan_item(const PlanPredicate& item, const SourceSpan& span, CheckpointPlan& plan);
  void lower_plan_item(const PlanRewrite& item, const SourceSpan& span, CheckpointPlan& plan);
  void lower_plan_item(const PlanTransform& item, const SourceSpan& span, CheckpointPlan& plan);
  std::vector<Option> action_options(std::vector<Option> options, const TensorActionSpec* spec);
  void lower_plan_item(const PlanSurgery& item, const SourceSpan& span, CheckpointPlan& plan);
  void check_step_options(const std::string& what, const std::vector<GroupOption>& options,
                          const std::vector<std::string_view>& allowed);
  void lower_plan_item(const PlanWords&, const SourceSpan& span, CheckpointPlan& plan);
  void lower_plan_item(const PlanLoad& item, const SourceSpan& span, CheckpointPlan& plan);
  bool claim_name(std::map<std::string, SourceSpan>& names, const std::string& name, const SourceSpan& span,
                  std::string_view what);
  void check_template(const Literal& pattern, const Literal& replacement, bool supplies_index = false);
  void check_option_keys(const std::vector<Option>& options, uint32_t statement_line);
  std::vector<GroupOption> lower_options(const std::vector<Option>& options, const std::set<std::string>& captures);
  std::optional<ValueExpr> lower_value(const Value& value, const std::set<std::string>& captures, bool& computed,
                                       OptionValue& constant);
  std::optional<ValueExpr> lower_word(const Literal& literal, const Value& value, const std::set<std::string>& captures,
                                      bool& computed, OptionValue& constant);
  std::optional<ValueExpr> lower_call(const ValueCallNode& call, const Value& value, const std::set<std::string>& captures,
                                      bool& computed, OptionValue& constant);
  bool all_integers(const Value& value) const;

  Predicate lower(const Expr& expr);
  Predicate lower_node(const AndExpr& node, const SourceSpan& span);
  Predicate lower_node(const OrExpr& node, const SourceSpan& span);
  Predicate lower_node(const NotExpr& node, const SourceSpan& span);
  Predicate lower_node(const Flag& flag, const SourceSpan& span);
  Predicate lower_node(const Ref& ref, const SourceSpan& span);
  Predicate lower_node(const Test& test, const SourceSpan& span);
  template <typename BadOp>
  Predicate lower_rank(const Test& test, const SourceSpan& span, BadOp bad_op);
  std::vector<std::string> strings(const Test& test, std::string_view what);
  int64_t integer(const Literal& value, int64_t most = 64);
  void check_pattern(const Literal& value);

  Diagnostics& diagnostics_;
  const ImportResolver& resolve_;
  Lowered lowered_;
  std::map<std::string, Binding> bindings_;
  std::map<std::string, ValueBinding> values_;       // let NAME = VALUE, param NAME = VALUE
  std::vector<ParameterValues> parameter_stack_;     // one per file being lowered
  std::size_t expanded_ = 0;  // nodes inlined from bindings so far
  bool reported_expansion_ = false;
  std::map<std::string, SourceSpan> selection_names_, group_names_;
  std::vector<std::string> import_stack_;
  std::set<std::string> imported_;
  bool has_fallback_ = false;
  std::optional<SourceSpan> defaults_span_;  // the file's `defaults` block, once seen
};

}  // namespace taxon::tx::detail
