// The rule IR: what every front end (linnaeus YAML, anemoi YAML, the taxon
// language) lowers to, what the passes rewrite and what the evaluator runs.
// Plain data: a predicate is a std::variant of small node structs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/source.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

// A copyable owning pointer, so recursive nodes keep value semantics.
template <class T>
class Box {
 public:
  Box(T value) : ptr_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit on purpose
  Box(const Box& other) : ptr_(std::make_unique<T>(*other.ptr_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) ptr_ = std::make_unique<T>(*other.ptr_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  const T& operator*() const { return *ptr_; }
  T& operator*() { return *ptr_; }
  const T* operator->() const { return ptr_.get(); }
  T* operator->() { return ptr_.get(); }

 private:
  std::unique_ptr<T> ptr_;
};

struct Predicate;

enum class StringField { name, module, source };
enum class MatchOp { equals, starts, ends, contains, regex };

// True when the field matches any of the patterns. `regex` is an RE2 search
// (unanchored); the other operators compare literally.
struct StringMatch {
  StringField field = StringField::name;
  MatchOp op = MatchOp::contains;
  std::vector<std::string> patterns;
};

struct RankIn {
  std::vector<int64_t> ranks;
};

// The shape, dimension by dimension; nullopt matches any size.
struct ShapeIs {
  std::vector<std::optional<int64_t>> dims;
};

// How a `module under` path names modules (engine/module_paths.hpp resolves them).
enum class PathSemantics {
  dotted_path,     // the DSL: a dotted module path, as get_submodule() resolves it
  anemoi_stage,    // anemoi's FreezingModifierStage: the same, in anemoi's words
  anemoi_legacy,   // anemoi's legacy freeze_submodule_by_name: walked by named_children(), which
                   // yields a module shared under one parent once; "" names nothing
  anemoi_any_depth,  // anemoi training before 0.15: every module of that name, at any depth
};

// The owning module is one of these paths or lies under one of them
// (`encoder` covers `encoder` and `encoder.layers.0`, not `encoder_2`). A second
// name of a shared module reaches the module itself.
struct ModuleUnder {
  std::vector<std::string> paths;
  // A path that names no module: an error (the DSL), or a warning (anemoi's
  // freezing with strict: false, which logs and skips it).
  bool unknown_is_error = true;
  PathSemantics semantics = PathSemantics::dotted_path;
  // The paths are relative to the first of these modules the model has; none: to the model.
  // (anemoi's legacy keys: the inner network, `model.model` of a LightningModule.)
  std::vector<std::string> roots;
  // The paths are taken in order and the first that names no module ends the list (anemoi's
  // strict freezing raises there, after freezing the paths before it).
  bool stops_at_unknown = false;
  std::vector<SourceSpan> spans;  // where each path is written, when the front end knows (else the predicate's)
};

struct DtypeIn {
  std::vector<std::string> dtypes;
};

struct KindIs {
  TensorKind kind = TensorKind::parameter;
};

// The class of the module that owns the tensor directly (for a tied tensor:
// any module that owns one of its names, as linnaeus's identity test). Where
// the dump records class ancestry, a name also matches the classes that
// inherit from it, as isinstance() does; `exact` (`type is`, linnaeus's
// layer_type, which compares __class__.__name__) keeps to the class itself.
// A name is a short class name or a qualified one (module.Class).
struct ModuleTypeIn {
  std::vector<std::string> types;
  bool exact = false;
};

struct RequiresGrad {
  bool value = true;
};

// Absent from the reference checkpoint, or present with another shape. With
// no reference, every tensor counts as newly initialized (linnaeus).
struct NewlyInitialized {};

// The tensor's stage (StageMap) is one of these.
struct StageIn {
  std::vector<std::string> stages;
};

struct Constant {
  bool value = true;
};

struct AllOf {
  std::vector<Predicate> terms;  // empty: true
};

struct AnyOf {
  std::vector<Predicate> terms;  // empty: false
};

struct Not {
  Box<Predicate> term;
};

using PredicateNode = std::variant<Constant, StringMatch, RankIn, ShapeIs, DtypeIn, KindIs, ModuleTypeIn, ModuleUnder,
                                   RequiresGrad, NewlyInitialized, StageIn, AllOf, AnyOf, Not>;

struct Predicate {
  PredicateNode node;
  SourceSpan span;  // where the rule was written
};

// The value of a group option: null, a scalar, a list or a mapping (in the
// order written).
struct OptionEntry;
struct OptionValue {
  using List = std::vector<OptionValue>;
  // Entries of a struct rather than std::pair: clang (14 and 16, with libstdc++ 12) cannot
  // instantiate std::pair<std::string, OptionValue> inside this recursive variant.
  using Map = std::vector<OptionEntry>;
  std::variant<std::monostate, bool, int64_t, double, std::string, List, Map> value;
};
struct OptionEntry {
  std::string key;
  OptionValue value;
};

// An option computed per tensor from the named captures of the group's
// regexes, e.g. layer-wise decay `lr_mult = 0.75 ** (12 - i)`.
struct ValueExpr;
struct ValueNumber {
  double value = 0;
};
struct ValueCapture {
  std::string name;
};
struct ValueBinary {
  char op = '+';  // + - * / and '^' for **
  Box<ValueExpr> lhs;
  Box<ValueExpr> rhs;
};
struct ValueNegate {
  Box<ValueExpr> operand;
};
// min(a, b, ...), max(a, b, ...), clamp(x, low, high).
struct ValueCall {
  std::string function;
  std::vector<ValueExpr> args;
};
// A value of the whole model, computed once per evaluation over the parameters (every tensor, when
// the predicate tests `kind`) that the predicate selects: the largest or smallest number a named
// capture takes, how many distinct values it takes, or how many tensors there are.
// `max(i where name ~ /^blocks\.(?P<i>\d+)\./) + 1` is a ViT's depth.
struct ValueAggregate {
  enum class Op { max, min, count_distinct, count_tensors };
  Op op = Op::max;
  std::string capture;  // empty for count_tensors
  Box<Predicate> predicate;
  std::string text;  // as written, for messages
};
struct ValueExpr {
  std::variant<ValueNumber, ValueCapture, ValueBinary, ValueNegate, ValueCall, ValueAggregate> node;
};

struct GroupOption {
  std::string key;  // as written
  OptionValue value;  // the value, when it is a constant
  SourceSpan span;
  // Set when the value depends on captures (per tensor) or on the model (aggregates, resolved
  // to a constant when evaluation starts).
  std::optional<ValueExpr> computed = std::nullopt;
  std::string computed_text = {};  // the expression as written, for reports
  // An aggregate it uses ranged over no tensor of the model (`max(i where ...)`): the value is
  // null, and an error wherever a tensor takes it (T0408). A rule file for several model
  // families has rules no tensor of one model meets.
  std::string empty_aggregate = {};
};

// Which tensors a selection or group considers at all.
enum class Universe {
  parameters,   // what named_parameters() yields (the default)
  all_tensors,  // parameters and buffers
};

struct Selection {
  std::string name;
  Predicate predicate;
  Universe universe = Universe::parameters;
  SourceSpan span;
  // The tensors it selects are frozen before anything else is evaluated
  // (so they never reach the default group, and GradNorm skips them).
  bool freezes = false;
};

struct Group {
  std::string name;
  Predicate predicate;
  std::vector<GroupOption> options;
  SourceSpan span;
};

// `set NAME : PREDICATE { options }`: options for the parameters the predicate selects, in
// whatever group they join, without claiming them. A parameter's options are its group's (own,
// then defaults), then every set rule that selects it, in file order, a later one winning. A group
// whose parameters end up with different options is split into one group per distinct set of
// options, named after the rules that made it (timm's `layer_3_no_decay`).
using SetRule = Group;

enum class GroupMode {
  overlap,      // a tensor joins every group that matches (linnaeus)
  first_match,  // a tensor joins the first group that matches, in file order
};

struct GroupSet {
  GroupMode mode = GroupMode::first_match;
  std::vector<Group> groups;
  // The group that takes every trainable parameter no other group took.
  std::string default_name = "DEFAULT";
  std::vector<GroupOption> default_options;
  SourceSpan default_span;
  // How many groups were declared before the default group (for writers
  // that keep the source's order); nullopt when it was not declared.
  std::optional<std::size_t> default_position;
  // Options every group inherits where it does not set them (linnaeus's
  // resolution: OPTIMIZER and WEIGHT_DECAY from DEFAULT, LR_MULTIPLIER 1.0).
  std::vector<GroupOption> inherited_options;
  // linnaeus's PARAMETER_GROUPS.ENABLED: false puts everything in DEFAULT.
  bool enabled = true;
  SourceSpan enabled_span;
  std::vector<SetRule> set_rules;  // in file order
  // Frozen parameters (requires_grad false, or a `freeze` rule) are left out of every group, as
  // torch.optim users and timm want; linnaeus keeps them in the groups whose filter matches
  // (`keep frozen in groups`). The default group never takes one.
  bool frozen_join_groups = false;
  SourceSpan frozen_join_span;
};

struct Program {
  std::vector<Selection> selections;
  std::optional<GroupSet> groups;
  // Removed (once, when present) from a tensor's name before any name rule
  // sees it; the linnaeus front end sets "module." (DDP).
  std::optional<std::string> strip_name_prefix;
  // A stage map written in the rule file wins over the dump's.
  std::optional<StageMap> stage_map;
};

}  // namespace taxon
