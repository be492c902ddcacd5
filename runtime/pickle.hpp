// A data-only unpickler for PyTorch checkpoints. It builds plain values
// (None, bools, numbers, strings, bytes, lists, tuples, dicts, tensors) and
// never runs code: a global outside a short allow-list (OrderedDict, torch's
// tensor, parameter and storage rebuilders, dtypes) is refused by name before
// anything could call it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/tensor_data.hpp"

namespace taxon {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

struct PyNone {};
struct PyBigInt {  // an integer beyond 64 bits, little-endian two's complement
  std::string bytes;
};
struct PyBytes {
  std::string data;
};
struct PyList {
  std::vector<PyRef> items;
};
struct PyTuple {
  std::vector<PyRef> items;
};
struct PyDict {
  std::vector<std::pair<PyRef, PyRef>> items;
  bool ordered = false;  // a collections.OrderedDict
  PyRef state;           // what BUILD set on it (a state_dict's `_metadata`)
};
struct PyGlobal {  // an allowed class or constant used as a value (torch.float32, torch.FloatStorage)
  std::string module, name;
};
struct PyTensor {
  TensorData tensor;
};
struct PyStorage {
  std::shared_ptr<StorageBlock> storage;
};

struct PyValue {
  std::variant<PyNone, bool, int64_t, PyBigInt, double, std::string, PyBytes, PyList, PyTuple, PyDict, PyGlobal, PyTensor,
               PyStorage>
      value;
  std::size_t depth = 1;  // nesting depth of containers, bounded while reading
};

struct UnpickleOptions {
  std::string context;  // "file.pt (data.pkl)", for messages
  // Resolves a persistent id (torch's storages); required for torch files.
  std::function<PyRef(const PyRef& id)> persistent_load;
};

// Parses one pickle from `bytes`. Throws InputError on malformed input, a
// forbidden global, or limits exceeded. `consumed` receives the length read.
PyRef unpickle(std::string_view bytes, const UnpickleOptions& options, std::size_t* consumed = nullptr);

// Helpers for callers walking the result.
const std::string* as_string(const PyRef& value);
const PyDict* as_dict(const PyRef& value);
const PyTensor* as_tensor(const PyRef& value);
std::string describe_type(const PyRef& value);  // "dict", "OrderedDict", "int", ...

}  // namespace taxon
