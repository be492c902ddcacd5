// Makes the tensors a plan's recipes describe (engine/plans/plan.hpp): input
// tensors as they are; narrow, select, concat, stack, transpose and reshape
// by moving bytes (exact, any dtype, no LibTorch); library actions
// (interpolation, casts, rows) through runtime/actions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "engine/plans/plan.hpp"
#include "runtime/tensor_data.hpp"

namespace taxon {

class Materializer {
 public:
  using InputLookup = std::function<const TensorData&(std::size_t input)>;
  // `keys` are the plan's result: a tensor that several of them share (a
  // split's parent) is made once and freed when the last one is made.
  Materializer(const std::vector<PlannedKey>& keys, InputLookup input);

  // The tensor for one key; throws InputError when an action fails (T0807) or its library cannot be loaded (T0610).
  std::shared_ptr<const TensorData> make(const PlannedKey& key);

 private:
  std::shared_ptr<const TensorData> build(const Recipe& recipe);

  InputLookup input_;
  std::map<const Recipe*, std::size_t> users_;  // shared nodes: uses still to come
  std::map<const Recipe*, std::shared_ptr<const TensorData>> shared_;
};

// The byte-level operations, exposed for tests.
TensorData narrow(const TensorData& tensor, std::size_t dim, int64_t start, int64_t length);
TensorData select(const TensorData& tensor, std::size_t dim, int64_t index);
TensorData transpose(const TensorData& tensor, std::size_t dim0, std::size_t dim1);
TensorData reshape(const TensorData& tensor, const std::vector<int64_t>& shape);
TensorData concat(const std::vector<const TensorData*>& parts, std::size_t dim);
TensorData stack(const std::vector<const TensorData*>& parts, std::size_t dim);

}  // namespace taxon
