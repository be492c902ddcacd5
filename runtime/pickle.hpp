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
  using Value = std::variant<PyNone, bool, int64_t, PyBigInt, double, std::string, PyBytes, PyList, PyTuple, PyDict,
                             PyGlobal, PyTensor, PyStorage>;

  PyValue(Value value, std::size_t depth) : value(std::move(value)), depth(depth) {}
  PyValue(const PyValue&) = default;  // declared, since the destructor is, to keep the moves
  PyValue(PyValue&&) = default;
  PyValue& operator=(const PyValue&) = default;
  PyValue& operator=(PyValue&&) = default;
  // Frees the containers below it from a worklist: the shared_ptr chain's recursion would overflow
  // the stack on a structure 200,000 deep, which the memo lets a pickle build.
  ~PyValue();

  Value value;
  std::size_t depth = 1;  // containers' nesting depth as far as seen when items were added; see kMaxPickleDepth
};

// unpickle refuses (T0606) a value whose containers nest deeper than this, however they were
// filled, so callers may walk what it returns recursively.
inline constexpr std::size_t kMaxPickleDepth = 200;

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
