// A data-only unpickler for PyTorch checkpoints. It never imports or calls
// anything a pickle names. Each global is one of three things
// (runtime/pickle_classes.hpp, docs/checkpoints.md):
//  - data: torch's tensor and storage rebuilders, OrderedDict, numpy arrays,
//    scalars and dtypes, argparse.Namespace, omegaconf containers, paths,
//    datetimes, collections, sets...: kept as values that write back as they came;
//  - hostile: a callable that runs code when unpickled (os.system, eval,
//    importlib, ...): the whole file is refused (T0607), wherever it sits;
//  - opaque: any other class or function: kept as a record (class path,
//    arguments, state), tensors inside still found.
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
struct PyGlobal {  // a class, function or constant the pickle names (torch.float32, builtins.dict, a user's class)
  std::string module, name;
  bool opaque = false;  // not one taxon knows (runtime/pickle_classes.hpp)

  std::string path() const { return module + "." + name; }
};
// An object the pickle builds by calling a class or function (REDUCE, NEWOBJ,
// INST, OBJ), then filling it (APPENDS, SETITEMS, BUILD). Nothing is called:
// the record is what Python's unpickler would have been told, so it writes
// back to the same object.
struct PyObject {
  PyGlobal callable;  // what the pickle calls (numpy.core.multiarray._reconstruct, argparse.Namespace)
  std::string type;   // the class of what it makes (numpy.ndarray, argparse.Namespace), for messages and listings
  bool newobj = false;  // cls.__new__(cls, *args) (NEWOBJ) rather than callable(*args) (REDUCE)
  std::vector<PyRef> args;
  std::vector<PyRef> items;                       // APPEND(S) onto it (a deque, a list subclass)
  std::vector<std::pair<PyRef, PyRef>> entries;  // SETITEM(S) onto it (a defaultdict, a dict subclass)
  PyRef state;                                    // BUILD
  bool opaque = false;  // its class is not one taxon knows
};
// A reference back up to a container that holds this one (omegaconf nodes
// point at their parent). Weak, so values form no cycle of owners.
struct PyBackRef {
  std::weak_ptr<PyValue> target;
};
struct PyTensor {
  TensorData tensor;
};
struct PyStorage {
  std::shared_ptr<StorageBlock> storage;
};

struct PyValue {
  using Value = std::variant<PyNone, bool, int64_t, PyBigInt, double, std::string, PyBytes, PyList, PyTuple, PyDict,
                             PyGlobal, PyTensor, PyStorage, PyObject, PyBackRef>;

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
const PyObject* as_object(const PyRef& value);
std::string describe_type(const PyRef& value);  // "dict", "OrderedDict", "int", "argparse.Namespace", ...

// A value's children in the order a pickle writes them: list and tuple items;
// a dict's keys and values, then its state; an object's arguments, items,
// entries (keys and values), then its state. Null slots are skipped by callers.
std::size_t child_count(const PyValue& value);
const PyRef& child(const PyValue& value, std::size_t i);
PyRef& child(PyValue& value, std::size_t i);

// The tensors at or below `value`, each shared value looked at once (linear), counted up to `at_most`.
std::size_t count_tensors(const PyValue& value, std::size_t at_most = SIZE_MAX);

}  // namespace taxon
