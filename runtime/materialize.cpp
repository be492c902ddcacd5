#include "runtime/materialize.hpp"

#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"
#include "engine/internal_error.hpp"
#include "runtime/actions.hpp"
#include "runtime/input_error.hpp"

namespace taxon {
namespace {

int64_t product(const std::vector<int64_t>& shape, std::size_t from, std::size_t to) {
  return std::accumulate(shape.begin() + static_cast<std::ptrdiff_t>(from), shape.begin() + static_cast<std::ptrdiff_t>(to),
                         int64_t{1}, std::multiplies<>());
}

// A new contiguous tensor owning `bytes`.
TensorData owned(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes, bool requires_grad) {
  auto buffer = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  TensorData out;
  out.dtype = dtype;
  out.stride = contiguous_strides(shape);
  out.shape = std::move(shape);
  out.requires_grad = requires_grad;
  out.storage = std::make_shared<StorageBlock>();
  out.storage->key = "taxon";
  out.storage->dtype = dtype;
  out.storage->data = buffer->data();
  out.storage->nbytes = buffer->size();
  out.storage->owner = buffer;
  return out;
}

// A view's elements copied into a tensor of their own.
TensorData compact(const TensorData& view) {
  return owned(view.dtype, view.shape, view.contiguous_bytes(), view.requires_grad);
}

}  // namespace

TensorData narrow(const TensorData& tensor, std::size_t dim, int64_t start, int64_t length) {
  TensorData view = tensor;
  view.storage_offset += start * tensor.stride.at(dim);
  view.shape.at(dim) = length;
  return compact(view);
}

TensorData select(const TensorData& tensor, std::size_t dim, int64_t index) {
  TensorData view = tensor;
  view.storage_offset += index * tensor.stride.at(dim);
  view.shape.erase(view.shape.begin() + static_cast<std::ptrdiff_t>(dim));
  view.stride.erase(view.stride.begin() + static_cast<std::ptrdiff_t>(dim));
  return compact(view);
}

TensorData transpose(const TensorData& tensor, std::size_t dim0, std::size_t dim1) {
  TensorData view = tensor;
  std::swap(view.shape.at(dim0), view.shape.at(dim1));
  std::swap(view.stride.at(dim0), view.stride.at(dim1));
  return compact(view);
}

TensorData reshape(const TensorData& tensor, const std::vector<int64_t>& shape) {
  TensorData out = tensor.is_contiguous() ? tensor : compact(tensor);  // a contiguous tensor keeps its bytes
  out.shape = shape;
  out.stride = contiguous_strides(shape);
  return out;
}

TensorData concat(const std::vector<const TensorData*>& parts, std::size_t dim) {
  const TensorData& first = *parts.at(0);
  std::size_t element = dtype_size(first.dtype);
  std::vector<int64_t> shape = first.shape;
  shape.at(dim) = 0;
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<std::size_t> block;  // bytes of one part per outer index
  for (const TensorData* part : parts) {
    shape[dim] += part->shape.at(dim);
    bytes.push_back(part->contiguous_bytes());
    block.push_back(static_cast<std::size_t>(product(part->shape, dim, part->shape.size())) * element);
  }
  auto outer = static_cast<std::size_t>(product(shape, 0, dim));
  std::vector<uint8_t> out(static_cast<std::size_t>(product(shape, 0, shape.size())) * element);
  uint8_t* cursor = out.data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (block[k]) std::memcpy(cursor, bytes[k].data() + o * block[k], block[k]);
      cursor += block[k];
    }
  return owned(first.dtype, std::move(shape), std::move(out), first.requires_grad);
}

TensorData stack(const std::vector<const TensorData*>& parts, std::size_t dim) {
  std::vector<TensorData> unsqueezed;
  for (const TensorData* part : parts) {
    TensorData view = *part;
    view.shape.insert(view.shape.begin() + static_cast<std::ptrdiff_t>(dim), 1);
    view.stride.insert(view.stride.begin() + static_cast<std::ptrdiff_t>(dim), 1);  // any stride: the size is 1
    unsqueezed.push_back(std::move(view));
  }
  std::vector<const TensorData*> pointers;
  for (const auto& view : unsqueezed) pointers.push_back(&view);
  return concat(pointers, dim);
}

Materializer::Materializer(const std::vector<PlannedKey>& keys, InputLookup input) : input_(std::move(input)) {
  // Count each node's users; those with more than one are made once and shared.
  std::map<const Recipe*, std::size_t> seen;
  std::function<void(const Recipe&)> visit = [&](const Recipe& recipe) {
    if (seen[&recipe]++ > 0) return;  // its parts are counted once
    for (const auto& part : recipe.parts) visit(*part);
  };
  for (const auto& key : keys) visit(*key.recipe);
  for (const auto& [recipe, count] : seen)
    if (count > 1 && recipe->op != Recipe::Op::input) users_[recipe] = count;
}

std::shared_ptr<const TensorData> Materializer::make(const PlannedKey& key) { return build(*key.recipe); }

std::shared_ptr<const TensorData> Materializer::build(const Recipe& recipe) {
  auto shared = users_.find(&recipe);
  if (shared != users_.end()) {
    if (auto made = shared_.find(&recipe); made != shared_.end()) {
      auto tensor = made->second;
      if (--shared->second == 0) shared_.erase(made);
      return tensor;
    }
  }
  std::shared_ptr<const TensorData> out;
  if (recipe.op == Recipe::Op::input) {
    // The input lives as long as its checkpoint; this pointer does not own it.
    out = std::shared_ptr<const TensorData>(std::shared_ptr<const TensorData>{}, &input_(recipe.input));
  } else {
    std::vector<std::shared_ptr<const TensorData>> parts;
    for (const auto& part : recipe.parts) parts.push_back(build(*part));
    const TensorData& first = *parts.at(0);
    auto dim = [&](std::size_t i) { return static_cast<std::size_t>(recipe.args.at(i)); };
    TensorData made;
    switch (recipe.op) {
      case Recipe::Op::narrow: made = narrow(first, dim(0), recipe.args.at(1), recipe.args.at(2)); break;
      case Recipe::Op::select: made = select(first, dim(0), recipe.args.at(1)); break;
      case Recipe::Op::transpose: made = transpose(first, dim(0), dim(1)); break;
      case Recipe::Op::reshape: made = reshape(first, recipe.shape); break;
      case Recipe::Op::concat:
      case Recipe::Op::stack: {
        std::vector<const TensorData*> pointers;
        for (const auto& part : parts) pointers.push_back(part.get());
        made = recipe.op == Recipe::Op::concat ? concat(pointers, dim(0)) : stack(pointers, dim(0));
        break;
      }
      case Recipe::Op::action: made = run_action(recipe.action->action, recipe.action->options, first, recipe.shape); break;
      case Recipe::Op::input: break;
    }
    // The plan computed every shape before anything was read; a step that disagrees is a bug in taxon.
    if (made.shape != recipe.shape)
      throw InternalError(fmt::format("a plan step produced {} where the plan expects {}", shape_text(made.shape),
                                      shape_text(recipe.shape)));
    out = std::make_shared<const TensorData>(std::move(made));
  }
  if (shared != users_.end()) {
    shared_.emplace(&recipe, out);
    --shared->second;
  }
  return out;
}

}  // namespace taxon
