// The values unpickle returns: their children, accessors and type names, and a teardown that never recurses.
#include "runtime/pickle.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/pickle_internal.hpp"

namespace taxon {
namespace {

// While the outermost ~PyValue on this thread runs, the containers it has yet to free.
thread_local std::vector<PyRef>* releasing = nullptr;

}  // namespace

PyValue::~PyValue() {
  std::vector<PyRef> pending;
  std::vector<PyRef>& into = releasing ? *releasing : pending;
  // Every container child is deferred, shared or not: a list holding its child twice sees a count
  // of 2 on each, and the second drop would free it here, recursively. A leaf frees nothing more.
  auto defer = [&into](PyRef& child) {
    if (child && child_count(*child) > 0) into.push_back(std::move(child));
  };
  if (auto* list = std::get_if<PyList>(&value)) std::for_each(list->items.begin(), list->items.end(), defer);
  else if (auto* tuple = std::get_if<PyTuple>(&value)) std::for_each(tuple->items.begin(), tuple->items.end(), defer);
  else if (auto* dict = std::get_if<PyDict>(&value)) {
    for (auto& [key, item] : dict->items) {
      defer(key);
      defer(item);
    }
    defer(dict->state);
  } else if (auto* object = std::get_if<PyObject>(&value)) {
    std::for_each(object->args.begin(), object->args.end(), defer);
    std::for_each(object->items.begin(), object->items.end(), defer);
    for (auto& [key, item] : object->entries) {
      defer(key);
      defer(item);
    }
    defer(object->state);
  }
  if (releasing || pending.empty()) return;
  releasing = &pending;
  while (!pending.empty()) {
    PyRef next = std::move(pending.back());
    pending.pop_back();
    next.reset();  // its own containers go onto `pending`, not deeper into this stack
  }
  releasing = nullptr;
}

const std::string* as_string(const PyRef& value) { return value ? std::get_if<std::string>(&value->value) : nullptr; }
const PyDict* as_dict(const PyRef& value) { return value ? std::get_if<PyDict>(&value->value) : nullptr; }
const PyTensor* as_tensor(const PyRef& value) { return value ? std::get_if<PyTensor>(&value->value) : nullptr; }
const PyObject* as_object(const PyRef& value) { return value ? std::get_if<PyObject>(&value->value) : nullptr; }

std::size_t child_count(const PyValue& value) {
  if (const auto* list = std::get_if<PyList>(&value.value)) return list->items.size();
  if (const auto* tuple = std::get_if<PyTuple>(&value.value)) return tuple->items.size();
  if (const auto* dict = std::get_if<PyDict>(&value.value)) return 2 * dict->items.size() + 1;
  if (const auto* object = std::get_if<PyObject>(&value.value))
    return object->args.size() + object->items.size() + 2 * object->entries.size() + 1;
  return 0;
}

PyRef& child(PyValue& value, std::size_t i) {
  if (auto* list = std::get_if<PyList>(&value.value)) return list->items[i];
  if (auto* tuple = std::get_if<PyTuple>(&value.value)) return tuple->items[i];
  if (auto* dict = std::get_if<PyDict>(&value.value)) {
    if (i == 2 * dict->items.size()) return dict->state;
    return i % 2 == 0 ? dict->items[i / 2].first : dict->items[i / 2].second;
  }
  auto& object = std::get<PyObject>(value.value);
  if (i < object.args.size()) return object.args[i];
  i -= object.args.size();
  if (i < object.items.size()) return object.items[i];
  i -= object.items.size();
  if (i == 2 * object.entries.size()) return object.state;
  return i % 2 == 0 ? object.entries[i / 2].first : object.entries[i / 2].second;
}

const PyRef& child(const PyValue& value, std::size_t i) { return child(const_cast<PyValue&>(value), i); }

std::size_t count_tensors(const PyValue& root, std::size_t at_most) {
  std::size_t count = 0;
  std::vector<const PyValue*> pending{&root};
  std::unordered_set<const PyValue*> seen;
  while (!pending.empty() && count < at_most) {
    const PyValue* at = pending.back();
    pending.pop_back();
    if (!at || !seen.insert(at).second) continue;
    if (std::holds_alternative<PyTensor>(at->value)) ++count;
    for (std::size_t i = 0, n = child_count(*at); i < n; ++i) pending.push_back(child(*at, i).get());
  }
  return count;
}

std::string describe_type(const PyRef& value) {
  if (!value) return "nothing";
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, PyNone>) return "None";
        else if constexpr (std::is_same_v<V, bool>) return "bool";
        else if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, PyBigInt>) return "int";
        else if constexpr (std::is_same_v<V, double>) return "float";
        else if constexpr (std::is_same_v<V, std::string>) return "str";
        else if constexpr (std::is_same_v<V, PyBytes>) return "bytes";
        else if constexpr (std::is_same_v<V, PyList>) return "list";
        else if constexpr (std::is_same_v<V, PyTuple>) return "tuple";
        else if constexpr (std::is_same_v<V, PyDict>) return v.ordered ? "OrderedDict" : "dict";
        else if constexpr (std::is_same_v<V, PyGlobal>) return v.path();
        else if constexpr (std::is_same_v<V, PyTensor>) return "Tensor";
        else if constexpr (std::is_same_v<V, PyObject>) return v.type;
        else if constexpr (std::is_same_v<V, PyBackRef>) return "reference to an enclosing value";
        else return "storage";
      },
      value->value);
}

namespace detail {

PickleShape measure_pickle(const PyRef& root, std::unordered_map<const PyValue*, std::size_t>& heights) {
  struct Open {
    PyValue* value;
    std::size_t* height_out;  // its entry in `heights` (rehashing moves no entry)
    std::size_t next = 0, height = 1;
  };
  std::vector<Open> path;
  if (!root || child_count(*root) == 0) return PickleShape::fine;
  path.push_back({root.get(), &(heights[root.get()] = 0)});
  while (!path.empty()) {
    Open& open = path.back();
    if (open.next == child_count(*open.value)) {
      std::size_t height = *open.height_out = open.height;
      if (height > kMaxPickleDepth) return PickleShape::too_deep;
      path.pop_back();
      if (!path.empty()) path.back().height = std::max(path.back().height, height + 1);
      continue;
    }
    PyRef& slot = child(*open.value, open.next++);
    if (!slot) continue;
    if (child_count(*slot) == 0) {
      open.height = std::max<std::size_t>(open.height, 2);
      continue;
    }
    auto [entry, fresh] = heights.try_emplace(slot.get(), 0);
    if (!fresh) {
      if (entry->second == 0) {  // still open: a way back up the path
        if (std::holds_alternative<PyTuple>(slot->value)) return PickleShape::cycle;
        PyRef target = slot;
        slot = std::make_shared<PyValue>(PyBackRef{target}, 1);
        continue;
      }
      open.height = std::max(open.height, entry->second + 1);
      continue;
    }
    if (path.size() == kMaxPickleDepth) return PickleShape::too_deep;
    path.push_back({slot.get(), &entry->second});
  }
  return PickleShape::fine;
}

}  // namespace detail

}  // namespace taxon
