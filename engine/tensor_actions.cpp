#include "engine/tensor_actions.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "engine/tensor_table.hpp"

namespace taxon {
namespace {

int64_t count(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
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

}  // namespace

const std::vector<TensorActionSpec>& tensor_actions() {
  static const std::vector<TensorActionSpec> specs = {
      {"rel_pos_bias", {"extra_rows", "extra_position", "mode", "align_corners", "antialias", "grid", "target_grid"}, true,
       "interpolate a relative-position-bias table to the target's window"},
      {"pos_embed", {"prefix_tokens", "mode", "align_corners", "antialias", "grid", "target_grid"}, true,
       "interpolate absolute position embeddings to the target's grid"},
      {"cast", {"to"}, true, "convert to float32, float16, bfloat16 or float64"},
      {"rows", {"rows", "init", "std", "seed"}, true, "pad or truncate the first dimension (vocabulary resize)"},
      {"transpose", {"dims"}, false, "swap two dimensions (the last two by default)"},
      {"reshape", {"shape"}, false, "the same elements in another shape (the target's by default)"},
  };
  return specs;
}

const TensorActionSpec* find_tensor_action(std::string_view name) {
  for (const auto& spec : tensor_actions())
    if (spec.name == name) return &spec;
  return nullptr;
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

ActionOutcome action_outcome(std::string_view action, const std::vector<GroupOption>& options,
                             const std::vector<int64_t>& shape, const std::string& dtype,
                             const std::vector<int64_t>* target) {
  ActionOutcome out;
  out.shape = shape;
  out.dtype = dtype;
  if (action == "cast") {
    auto to = string_option(options, "to");
    static const std::vector<std::string> castable = {"float32", "float16", "bfloat16", "float64"};
    if (!to || std::find(castable.begin(), castable.end(), *to) == castable.end())
      return failure("`cast` needs `to = \"float32\"`, \"float16\", \"bfloat16\" or \"float64\"");
    out.dtype = *to;
    return out;
  }
  if (action == "transpose") {
    auto dims = int_list_option(options, "dims").value_or(std::vector<int64_t>{-2, -1});
    auto rank = static_cast<int64_t>(shape.size());
    if (dims.size() != 2) return failure("`transpose` swaps two dims: `dims = [0, 1]`");
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
        if (dim != -1) known *= dim;
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
    if (*rows < 0) return failure(fmt::format("`rows = {}`: a row count is not negative", *rows));
    auto init = string_option(options, "init");
    if (*rows > shape[0] && !init)
      return failure(fmt::format("`rows` grows {} rows to {}, and the new rows need an init", shape[0], *rows),
                     "name it: `init = \"mean\"` (the old rows' mean), \"zeros\", or \"normal\" (with `std`, `seed`)");
    out.shape[0] = *rows;
    return out;
  }
  if (action == "rel_pos_bias" || action == "pos_embed") {
    if (!target) return no_target(action);
    out.shape = *target;
    return out;
  }
  return failure(fmt::format("unknown tensor action `{}`", action));
}

}  // namespace taxon
