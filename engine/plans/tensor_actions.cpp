#include "engine/plans/tensor_actions.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"
#include "engine/dtype.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {
namespace {

using Type = ActionOptionType;

const std::vector<std::string_view> kModes = {"bicubic", "bilinear", "nearest"};
// A patch kernel is resampled through a resize of each one-hot patch, which needs an interpolation.
const std::vector<std::string_view> kPatchModes = {"bicubic", "bilinear"};
// A relative-position table also takes timm's resize_rel_pos_bias_table: linear on geometrically spaced offsets.
const std::vector<std::string_view> kTableModes = {"bicubic", "bilinear", "nearest", "geometric", "geometric_cubic"};
// What libtaxon_actions.so can hand to LibTorch 1.13 (engine/dtype.hpp); float8, wide unsigned
// and complex tensors are only ever moved, never computed on.
bool computed_by_library(std::string_view dtype) {
  std::optional<DType> known = dtype_from_name(dtype);
  return known && computed_by_libtorch(*known);
}

// The floating-point dtypes the library computes on (what `cast` makes, what interpolation takes),
// in the order messages list them.
constexpr DType kFloatTargets[] = {DType::float32, DType::float16, DType::bfloat16, DType::float64};
constexpr bool float_targets_match_the_table() {
  for (const auto& entry : kDTypes) {
    std::size_t listed = 0;
    for (DType dtype : kFloatTargets) listed += dtype == entry.dtype;
    if (listed != (entry.kind == DTypeKind::floating && computed_by_libtorch(entry.dtype) ? 1u : 0u)) return false;
  }
  return true;
}
static_assert(float_targets_match_the_table(), "kFloatTargets: every floating-point dtype LibTorch computes on, once");
const std::vector<std::string_view> kFloatDtypes = [] {
  std::vector<std::string_view> names;
  for (DType dtype : kFloatTargets) names.push_back(dtype_name(dtype));
  return names;
}();

bool contains(const std::vector<std::string_view>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

ActionOutcome failure(std::string error, std::string hint = {}) {
  ActionOutcome out;
  out.error = std::move(error);
  out.hint = std::move(hint);
  return out;
}

ActionOutcome no_target(std::string_view action) {
  ActionOutcome out = failure(fmt::format("`{}` takes the shape to produce from the target", action),
                              "pass --target with a model dump (or checkpoint) of the model to load into");
  out.needs_target = true;
  return out;
}

std::optional<int64_t> square_root(int64_t n) {
  if (n <= 0) return std::nullopt;
  auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  int64_t square = 0;
  if (!__builtin_mul_overflow(side, side, &square) && square == n) return side;
  return std::nullopt;
}

// a * b, or nullopt where int64 cannot hold it (grids and shapes are the user's numbers).
std::optional<int64_t> product(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// Elements in a shape; -1 where int64 cannot hold the count (no real tensor has that many).
int64_t count(const std::vector<int64_t>& shape) {
  int64_t out = 1;
  for (int64_t dim : shape)
    if (auto next = product(out, dim)) out = *next;
    else return -1;
  return out;
}

// The smallest k in [1, most] for which both counts are a square plus k: the
// extra rows or prefix tokens a table most likely carries ("197 = 14² + 1").
std::optional<int64_t> square_plus(int64_t rows, int64_t target_rows, int64_t most) {
  for (int64_t k = 1; k <= most; ++k)
    if (square_root(rows - k) && square_root(target_rows - k)) return k;
  return std::nullopt;
}

std::string square_text(int64_t rows, int64_t extra) {
  return fmt::format("{} = {}\u00b2 + {}", rows, *square_root(rows - extra), extra);
}

// "197 = 14² + 1 and 577 = 24² + 1", or one of them when both counts are the same.
std::string squares_text(int64_t rows, int64_t target_rows, int64_t extra) {
  if (rows == target_rows) return square_text(rows, extra);
  return square_text(rows, extra) + " and " + square_text(target_rows, extra);
}

const char* type_text(Type type) {
  switch (type) {
    case Type::integer: return "a whole number";
    case Type::number: return "a number";
    case Type::boolean: return "true or false";
    case Type::string: return "a string";
    case Type::integer_pair: return "two whole numbers, [a, b]";
    case Type::integer_list: return "a list of whole numbers";
  }
  return "";
}

std::string value_text(const OptionValue& value) {
  if (std::holds_alternative<bool>(value.value)) return std::get<bool>(value.value) ? "true" : "false";
  if (const auto* n = std::get_if<int64_t>(&value.value)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&value.value)) return fmt::format("{}", *d);
  if (const auto* s = std::get_if<std::string>(&value.value)) return fmt::format("\"{}\"", *s);
  if (std::holds_alternative<OptionValue::List>(value.value)) return "a list";
  return "nothing";
}

std::string choices_text(const std::vector<std::string_view>& choices) {
  std::vector<std::string> quoted;
  for (auto choice : choices) quoted.push_back(fmt::format("\"{}\"", choice));
  return fmt::format("{}", fmt::join(quoted, ", "));
}

// The problem with one option's value against its spec, if any.
std::optional<OptionProblem> check_value(const ActionOptionSpec& spec, const GroupOption& option) {
  const OptionValue& value = option.value;
  auto wrong_type = [&]() {
    return OptionProblem{option.key, fmt::format("`{}` is {}, not {}", option.key, type_text(spec.type), value_text(value)),
                         spec.type == Type::string && !spec.choices.empty()
                             ? fmt::format("write one of {}", choices_text(spec.choices))
                             : fmt::format("e.g. `{} = {}`", option.key,
                                           spec.type == Type::boolean   ? "true"
                                           : spec.type == Type::string  ? "\"...\""
                                           : spec.type == Type::integer_pair ? "[14, 14]"
                                           : spec.type == Type::integer_list ? "[768, -1]"
                                                                              : "1")};
  };
  auto too_small = [&](int64_t number) {
    return OptionProblem{option.key, fmt::format("`{} = {}`: it is at least {}", option.key, number, spec.min), ""};
  };
  switch (spec.type) {
    case Type::integer: {
      const auto* number = std::get_if<int64_t>(&value.value);
      if (!number) return wrong_type();
      if (*number < spec.min) return too_small(*number);
      return std::nullopt;
    }
    case Type::number:
      if (!std::holds_alternative<int64_t>(value.value) && !std::holds_alternative<double>(value.value)) return wrong_type();
      return std::nullopt;
    case Type::boolean:
      if (!std::holds_alternative<bool>(value.value)) return wrong_type();
      return std::nullopt;
    case Type::string: {
      const auto* text = std::get_if<std::string>(&value.value);
      if (!text) return wrong_type();
      if (!spec.choices.empty() && !contains(spec.choices, *text)) {
        std::vector<std::string> names(spec.choices.begin(), spec.choices.end());
        return OptionProblem{option.key,
                             fmt::format("`{} = \"{}\"`: it takes {}", option.key, *text, choices_text(spec.choices)),
                             suggest(*text, names, fmt::format("write one of {}", choices_text(spec.choices)))};
      }
      return std::nullopt;
    }
    case Type::integer_pair:
    case Type::integer_list: {
      const auto* list = std::get_if<OptionValue::List>(&value.value);
      if (!list || (spec.type == Type::integer_pair && list->size() != 2)) return wrong_type();
      for (const auto& item : *list) {
        const auto* number = std::get_if<int64_t>(&item.value);
        if (!number) return wrong_type();
        if (*number < spec.min) return too_small(*number);
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Grid resizing (rel_pos_bias, pos_embed): the checks that span options.
void check_interpolation(const std::vector<GroupOption>& options, std::vector<OptionProblem>& problems) {
  std::string mode = string_option(options, "mode").value_or("bicubic");
  if (mode == "nearest" || mode.starts_with("geometric")) {
    for (std::string_view key : {"antialias", "align_corners"})
      if (const OptionValue* value = find_option(options, key); value && std::get_if<bool>(&value->value) &&
                                                                std::get<bool>(value->value))
        problems.push_back({std::string(key), fmt::format("`{} = true` needs an image interpolation; `{}` has none", key, mode),
                            "use mode = \"bicubic\" or \"bilinear\", or leave it out"});
  }
}

}  // namespace

const std::vector<TensorActionSpec>& tensor_actions() {
  static const ActionOptionSpec mode{"mode", Type::string, kModes};
  static const ActionOptionSpec table_mode{"mode", Type::string, kTableModes};
  static const ActionOptionSpec align_corners{"align_corners", Type::boolean};
  static const ActionOptionSpec antialias{"antialias", Type::boolean};
  static const ActionOptionSpec grid{"grid", Type::integer_pair, {}, 1};
  static const ActionOptionSpec target_grid{"target_grid", Type::integer_pair, {}, 1};
  static const std::vector<TensorActionSpec> specs = {
      {"rel_pos_bias",
       {{"extra_rows", Type::integer, {}, 0}, {"extra_position", Type::string, {"leading", "trailing"}}, table_mode, align_corners,
        antialias, grid, target_grid},
       true,
       "interpolate a relative-position-bias table to the target's window"},
      {"pos_embed",
       {{"prefix_tokens", Type::integer, {}, 0}, mode, align_corners, antialias, grid, target_grid},
       true,
       "interpolate absolute position embeddings to the target's grid"},
      {"patch_embed",
       {{"mode", Type::string, kPatchModes}, antialias},
       true,
       "resample a patch-embedding kernel to the target's patch size (timm's resample_patch_embed)"},
      {"cast", {{"to", Type::string, kFloatDtypes}}, true, "convert to float32, float16, bfloat16 or float64"},
      {"rows",
       {{"rows", Type::integer, {}, 0}, {"init", Type::string, {"zeros", "mean", "normal"}}, {"std", Type::number},
        {"seed", Type::integer, {}, 0}},
       true,
       "pad or truncate the first dimension (vocabulary resize)"},
      {"transpose", {{"dims", Type::integer_pair}}, false, "swap two dimensions (the last two by default)"},
      {"reshape", {{"shape", Type::integer_list}}, false, "the same elements in another shape (the target's by default)"},
  };
  return specs;
}

const TensorActionSpec* find_tensor_action(std::string_view name) {
  for (const auto& spec : tensor_actions())
    if (spec.name == name) return &spec;
  return nullptr;
}

std::vector<OptionProblem> check_action_options(const TensorActionSpec& spec, const std::vector<GroupOption>& options) {
  std::vector<OptionProblem> problems;
  std::vector<std::string> names;
  for (const auto& known : spec.options) names.emplace_back(known.name);
  for (const auto& option : options) {
    auto known = std::find_if(spec.options.begin(), spec.options.end(),
                              [&](const ActionOptionSpec& s) { return s.name == option.key; });
    if (known == spec.options.end()) {
      problems.push_back({option.key, fmt::format("`{}` takes no option `{}`", spec.name, option.key),
                          suggest(option.key, names, fmt::format("it takes {}", fmt::join(names, ", "))), true});
      continue;
    }
    if (option.computed) {
      problems.push_back({option.key, fmt::format("`{}` is a constant here; actions take no computed options", option.key), ""});
      continue;
    }
    if (auto problem = check_value(*known, option)) problems.push_back(std::move(*problem));
  }
  if (!problems.empty()) return problems;  // the checks below read the options as typed
  if (spec.name == "rel_pos_bias") {
    int64_t extra = int_option(options, "extra_rows").value_or(0);
    bool placed = find_option(options, "extra_position") != nullptr;
    if (extra > 0 && !placed)
      problems.push_back({"extra_rows",
                          fmt::format("`extra_rows = {}` without `extra_position`: where the extra rows sit changes every number", extra),
                          "BEiT and Swin keep them last: `extra_position = \"trailing\"`; linnaeus keeps its class-token "
                          "row first: `extra_position = \"leading\"`"});
    if (extra == 0 && placed)
      problems.push_back({"extra_position", "`extra_position` places extra rows, and `extra_rows` is 0",
                          "give `extra_rows = N` too, or leave `extra_position` out"});
  }
  if (spec.name == "rel_pos_bias" || spec.name == "pos_embed") check_interpolation(options, problems);
  if (spec.name == "cast" && !find_option(options, "to"))
    problems.push_back({"", "`cast` needs `to`", fmt::format("e.g. `to = \"bfloat16\"`; it takes {}", choices_text(kFloatDtypes))});
  if (spec.name == "rows") {
    bool normal = string_option(options, "init") == "normal";
    for (std::string_view key : {"std", "seed"})
      if (find_option(options, key) && !normal)
        problems.push_back({std::string(key), fmt::format("`{}` is for `init = \"normal\"`", key),
                            "add `init = \"normal\"`, or leave it out"});
    if (auto deviation = find_option(options, "std")) {
      double value = std::holds_alternative<double>(deviation->value) ? std::get<double>(deviation->value)
                                                                      : static_cast<double>(std::get<int64_t>(deviation->value));
      if (!(value > 0) || !std::isfinite(value))
        problems.push_back({"std", fmt::format("`std = {}`: a standard deviation is a positive number", value), ""});
    }
  }
  return problems;
}

const OptionValue* find_option(const std::vector<GroupOption>& options, std::string_view key) {
  for (const auto& option : options)
    if (option.key == key) return &option.value;
  return nullptr;
}

std::optional<int64_t> int_option(const std::vector<GroupOption>& options, std::string_view key) {
  const OptionValue* value = find_option(options, key);
  if (!value) return std::nullopt;
  if (const auto* number = std::get_if<int64_t>(&value->value)) return *number;
  return std::nullopt;
}

std::optional<std::vector<int64_t>> int_list_option(const std::vector<GroupOption>& options, std::string_view key) {
  const OptionValue* value = find_option(options, key);
  if (!value) return std::nullopt;
  const auto* list = std::get_if<OptionValue::List>(&value->value);
  if (!list) return std::nullopt;
  std::vector<int64_t> out;
  for (const auto& item : *list) {
    const auto* number = std::get_if<int64_t>(&item.value);
    if (!number) return std::nullopt;
    out.push_back(*number);
  }
  return out;
}

std::optional<std::string> string_option(const std::vector<GroupOption>& options, std::string_view key) {
  const OptionValue* value = find_option(options, key);
  if (!value) return std::nullopt;
  if (const auto* text = std::get_if<std::string>(&value->value)) return *text;
  return std::nullopt;
}

namespace {

// The grid a count of cells forms: `key` ([h, w]) when given, else a square.
// On failure, `error` says why; `hint` is left to the caller, who knows the extras.
std::optional<std::pair<int64_t, int64_t>> grid_of(const std::vector<GroupOption>& options, std::string_view key,
                                                   int64_t cells, std::string& error) {
  if (auto given = int_list_option(options, key)) {
    auto covered = product((*given)[0], (*given)[1]);
    if (covered == cells) return std::pair{(*given)[0], (*given)[1]};
    error = fmt::format("`{} = [{}, {}]` covers {} cells, and there are {}", key, (*given)[0], (*given)[1],
                        covered ? std::to_string(*covered) : std::string("more"), cells);
    return std::nullopt;
  }
  if (auto side = square_root(cells)) return std::pair{*side, *side};
  error = fmt::format("{} cells do not form a square grid", cells);
  return std::nullopt;
}

// A table resized from one grid to another: both grids must be there, as
// `grid`/`target_grid` say or as squares. `cells` counts each side's grid cells;
// `extra_text` says what was set aside ("less 3 extra rows"); `guess` computes the hint.
ActionOutcome grid_outcome(std::string_view action, const std::vector<GroupOption>& options, const std::vector<int64_t>& shape,
                           const std::vector<int64_t>& target, std::pair<int64_t, int64_t> cells, const std::string& extra_text,
                           const std::function<std::string()>& guess) {
  std::string error;
  if (!grid_of(options, "grid", cells.first, error))
    return failure(fmt::format("`{}` on {}{}: {}", action, shape_text(shape), extra_text, error), guess());
  if (!grid_of(options, "target_grid", cells.second, error))
    return failure(fmt::format("`{}` to the target's {}{}: {}", action, shape_text(target), extra_text, error), guess());
  ActionOutcome out;
  out.shape = target;
  return out;
}

// Relative-position-bias tables: (grid rows + extra rows, heads).
ActionOutcome rel_pos_bias_outcome(const std::vector<GroupOption>& options, const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>& target) {
  if (shape.size() != 2 || target.size() != 2)
    return failure(fmt::format("`rel_pos_bias` resizes (rows, heads) tables; this is {} and the target {}", shape_text(shape),
                               shape_text(target)));
  if (shape[1] != target[1])
    return failure(fmt::format("`rel_pos_bias` keeps the heads: this table has {} and the target {}", shape[1], target[1]));
  int64_t extra = int_option(options, "extra_rows").value_or(0);
  auto guess = [&]() -> std::string {
    auto k = square_plus(shape[0], target[0], 8);
    if (!k || *k == extra) return "give `grid = [h, w]` and `target_grid = [h, w]` for a grid that is not square";
    return fmt::format("{}: add `extra_rows = {}` with `extra_position = \"trailing\"` (BEiT, Swin) or "
                       "\"leading\" (linnaeus's class-token row)",
                       squares_text(shape[0], target[0], *k), *k);
  };
  if (shape[0] - extra <= 0 || target[0] - extra <= 0)
    return failure(fmt::format("`extra_rows = {}` leaves no grid in {} rows (target {})", extra, shape[0], target[0]));
  return grid_outcome("rel_pos_bias", options, shape, target, {shape[0] - extra, target[0] - extra},
                      extra ? fmt::format(" less {} extra rows", extra) : "", guess);
}

// Patch-embedding kernels: (out, in, h, w) -> (out, in, h', w'); the channels stay.
ActionOutcome patch_embed_outcome(const std::vector<int64_t>& shape, const std::vector<int64_t>& target) {
  if (shape.size() != 4 || target.size() != 4 || shape[0] != target[0] || shape[1] != target[1])
    return failure(fmt::format("`patch_embed` resamples (out, in, h, w) kernels to another h, w with the same channels; "
                               "this is {} and the target {}",
                               shape_text(shape), shape_text(target)));
  ActionOutcome out;
  out.shape = target;
  return out;
}

// Absolute position embeddings: (1, prefix + h*w, dim) or (prefix + h*w, dim).
ActionOutcome pos_embed_outcome(const std::vector<GroupOption>& options, const std::vector<int64_t>& shape,
                                const std::vector<int64_t>& target) {
  bool shapes_fit = (shape.size() == 2 || (shape.size() == 3 && shape[0] == 1)) && target.size() == shape.size() &&
                    (shape.size() == 2 || target[0] == 1) && shape.back() == target.back();
  if (!shapes_fit)
    return failure(fmt::format("`pos_embed` resizes (1, tokens, dim) or (tokens, dim) embeddings of one dim; this is {} "
                               "and the target {}",
                               shape_text(shape), shape_text(target)));
  int64_t tokens = shape[shape.size() - 2], target_tokens = target[target.size() - 2];
  int64_t prefix = int_option(options, "prefix_tokens").value_or(0);
  auto guess = [&]() -> std::string {
    auto k = square_plus(tokens, target_tokens, 16);
    if (!k || *k == prefix) return "give `grid = [h, w]` and `target_grid = [h, w]` for a grid that is not square";
    return fmt::format("{}: add `prefix_tokens = {}` (class, distillation and register tokens lead the grid)",
                       squares_text(tokens, target_tokens, *k), *k);
  };
  if (tokens - prefix <= 0 || target_tokens - prefix <= 0)
    return failure(fmt::format("`prefix_tokens = {}` leaves no grid in {} tokens (target {})", prefix, tokens, target_tokens));
  return grid_outcome("pos_embed", options, shape, target, {tokens - prefix, target_tokens - prefix},
                      prefix ? fmt::format(" less {} prefix tokens", prefix) : "", guess);
}


// Whether an action that produced the shape and dtype it was given changed nothing: a resize
// to the same grid, a cast to the same dtype, a reshape to the same shape. A transpose of a
// square matrix keeps the shape and moves every element; a table read as [2, 8] and resized to
// [4, 4] keeps its row count and not its values.
bool leaves_alone(std::string_view action, const std::vector<GroupOption>& options, const std::vector<int64_t>& shape) {
  if (action == "transpose") return false;
  if (action != "rel_pos_bias" && action != "pos_embed") return true;
  int64_t cells = action == "rel_pos_bias" ? shape[0] - int_option(options, "extra_rows").value_or(0)
                                           : shape[shape.size() - 2] - int_option(options, "prefix_tokens").value_or(0);
  std::string error;
  return grid_of(options, "grid", cells, error) == grid_of(options, "target_grid", cells, error);
}

ActionOutcome outcome_of(std::string_view action, const std::vector<GroupOption>& options, const std::vector<int64_t>& shape,
                         const std::string& dtype, const std::vector<int64_t>* target) {
  const TensorActionSpec* spec = find_tensor_action(action);
  if (!spec) return failure(fmt::format("unknown tensor action `{}`", action));
  if (auto problems = check_action_options(*spec, options); !problems.empty())
    return failure(problems.front().message, problems.front().hint);
  if (spec->library && !computed_by_library(dtype))
    return failure(fmt::format("`{}` computes through LibTorch 1.13, which has no {}", action, dtype),
                   "taxon copies, renames and reshapes tensors of any dtype; computing on this one is not supported");
  ActionOutcome out;
  out.shape = shape;
  out.dtype = dtype;
  if (action == "cast") {
    out.dtype = *string_option(options, "to");
    return out;
  }
  if (action == "transpose") {
    auto dims = int_list_option(options, "dims").value_or(std::vector<int64_t>{-2, -1});
    auto rank = static_cast<int64_t>(shape.size());
    for (auto& dim : dims) {
      if (dim < 0) dim += rank;
      if (dim < 0 || dim >= rank)
        return failure(fmt::format("`transpose` on a tensor of shape {}: it has no dim {}", shape_text(shape), dim));
    }
    std::swap(out.shape[static_cast<std::size_t>(dims[0])], out.shape[static_cast<std::size_t>(dims[1])]);
    out.args = dims;
    return out;
  }
  if (action == "reshape") {
    std::vector<int64_t> wanted;
    if (auto given = int_list_option(options, "shape")) {
      wanted = *given;
      auto unknown = std::count(wanted.begin(), wanted.end(), -1);
      int64_t known = 1;
      for (int64_t dim : wanted)
        if (dim != -1 && known >= 0) known = product(known, dim).value_or(-1);  // -1: past int64, matches nothing
      if (unknown > 1 || std::any_of(wanted.begin(), wanted.end(), [](int64_t d) { return d < -1; }))
        return failure(fmt::format("`reshape` to {}: sizes are positive, and at most one is -1", shape_text(wanted)));
      if (unknown == 1 && known > 0 && count(shape) % known == 0)
        *std::find(wanted.begin(), wanted.end(), -1) = count(shape) / known;
    } else if (target) {
      wanted = *target;
    } else {
      return no_target(action);
    }
    if (count(wanted) != count(shape))
      return failure(fmt::format("`reshape` {} to {}: {} elements cannot become {}", shape_text(shape), shape_text(wanted),
                                 count(shape), count(wanted)));
    out.shape = wanted;
    return out;
  }
  if (action == "rows") {
    if (shape.empty()) return failure("`rows` needs a tensor with at least one dimension");
    std::optional<int64_t> rows = int_option(options, "rows");
    if (!rows && target) {
      if (target->size() != shape.size() || !std::equal(shape.begin() + 1, shape.end(), target->begin() + 1))
        return failure(fmt::format("`rows` changes the first dimension only, and the target's shape is {} where this is {}",
                                   shape_text(*target), shape_text(shape)));
      rows = (*target)[0];
    }
    if (!rows) return no_target(action);
    auto init = string_option(options, "init");
    if (*rows > shape[0] && !init)
      return failure(fmt::format("`rows` grows {} rows to {}, and the new rows need an init", shape[0], *rows),
                     "name it: `init = \"mean\"` (the old rows' mean), \"zeros\", or \"normal\" (with `std`, `seed`)");
    if (*rows > shape[0] && init == "mean" && shape[0] == 0)
      return failure("`init = \"mean\"` needs at least one old row", "use \"zeros\" or \"normal\"");
    out.shape[0] = *rows;
    return out;
  }
  // rel_pos_bias, pos_embed, patch_embed: the target's shape, from a grid that must be there.
  if (!target) return no_target(action);
  if (!contains(kFloatDtypes, dtype))
    return failure(fmt::format("`{}` interpolates floating-point tensors, not {}", action, dtype));
  if (action == "patch_embed") return patch_embed_outcome(shape, *target);
  return action == "rel_pos_bias" ? rel_pos_bias_outcome(options, shape, *target) : pos_embed_outcome(options, shape, *target);
}

}  // namespace

ActionOutcome action_outcome(std::string_view action, const std::vector<GroupOption>& options,
                             const std::vector<int64_t>& shape, const std::string& dtype,
                             const std::vector<int64_t>* target) {
  ActionOutcome out = outcome_of(action, options, shape, dtype, target);
  if (!out.error.empty() || out.needs_target) return out;
  if (out.dtype.empty()) out.dtype = dtype;  // the resizes keep the dtype
  out.unchanged = out.shape == shape && out.dtype == dtype && leaves_alone(action, options, shape);
  return out;
}

}  // namespace taxon
