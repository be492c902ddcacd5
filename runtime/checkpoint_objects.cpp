// Finding what a torch file holds that taxon does not know: the opaque objects
// `taxon dump` lists and a .pt output leaves out unless asked to keep them.
#include <unordered_set>

#include <fmt/format.h>

#include "runtime/checkpoint.hpp"

namespace taxon {
namespace {

bool is_opaque(const PyValue& value) {
  if (const auto* object = std::get_if<PyObject>(&value.value)) return object->opaque;
  if (const auto* global = std::get_if<PyGlobal>(&value.value)) return global->opaque;
  return false;
}

std::string opaque_type(const PyValue& value) {
  if (const auto* object = std::get_if<PyObject>(&value.value)) return object->type;
  return std::get<PyGlobal>(value.value).path();
}

std::string key_text(const PyRef& key) {
  if (const std::string* name = as_string(key)) return *name;
  if (const auto* number = key ? std::get_if<int64_t>(&key->value) : nullptr) return std::to_string(*number);
  return "?";
}

// Where child `i` of `parent` sits, written the way Python would reach it; `key` is set when
// the child is a plain dict's value under a string key (the only steps a .pt output can remove).
std::string child_path(const std::string& at, const PyValue& parent, std::size_t i, const std::string** key) {
  *key = nullptr;
  auto member = [&](const std::string& name) { return at.empty() ? name : at + "." + name; };
  if (std::holds_alternative<PyList>(parent.value) || std::holds_alternative<PyTuple>(parent.value))
    return fmt::format("{}[{}]", at, i);
  if (const auto* dict = std::get_if<PyDict>(&parent.value)) {
    if (i == 2 * dict->items.size()) return member("(state)");
    const auto& [k, v] = dict->items[i / 2];
    if (i % 2 == 0) return fmt::format("{}(key {})", at, key_text(k));
    if (const std::string* name = as_string(k)) {
      *key = name;
      return member(*name);
    }
    return fmt::format("{}[{}]", at, key_text(k));
  }
  const auto& object = std::get<PyObject>(parent.value);
  if (i < object.args.size()) return fmt::format("{}(argument {})", at, i);
  i -= object.args.size();
  if (i < object.items.size()) return fmt::format("{}[{}]", at, i);
  i -= object.items.size();
  if (i == 2 * object.entries.size()) {
    if (!as_dict(object.state)) return member("(state)");
    return at;  // its attributes follow as `.name`
  }
  const auto& [k, v] = object.entries[i / 2];
  return i % 2 == 0 ? fmt::format("{}(key {})", at, key_text(k)) : fmt::format("{}[{}]", at, key_text(k));
}

struct Walk {
  std::vector<OpaqueEntry> found;
  std::unordered_set<const PyValue*> seen;

  // Depth-first, recursive: unpickle() refuses values nested deeper than kMaxPickleDepth.
  void visit(const PyValue& value, const std::string& path, const std::vector<std::string>& entry, bool plain) {
    if (!seen.insert(&value).second) return;
    if (is_opaque(value)) {
      found.push_back({path.empty() ? "(the root)" : path, opaque_type(value), count_tensors(value), entry});
      return;
    }
    bool is_plain_dict = std::holds_alternative<PyDict>(value.value);
    // An object's state dict is walked as its attributes: it is part of the object, not an entry.
    const auto* object = std::get_if<PyObject>(&value.value);
    for (std::size_t i = 0, n = child_count(value); i < n; ++i) {
      const PyRef& below = child(value, i);
      if (!below) continue;
      const std::string* key = nullptr;
      std::string at = child_path(path, value, i, &key);
      if (object && below == object->state && as_dict(below)) {
        visit_attributes(*below, at, entry);
        continue;
      }
      std::vector<std::string> below_entry = entry;
      bool below_plain = plain && is_plain_dict && key;
      if (below_plain) below_entry.push_back(*key);
      visit(*below, at, below_entry, below_plain);
    }
  }
  void visit_attributes(const PyValue& state, const std::string& path, const std::vector<std::string>& entry) {
    if (!seen.insert(&state).second) return;
    const auto& dict = std::get<PyDict>(state.value);
    for (const auto& [key, item] : dict.items) {
      if (!item) continue;
      std::string name = key_text(key);
      visit(*item, path.empty() ? name : path + "." + name, entry, false);
    }
  }
};

}  // namespace

std::vector<OpaqueEntry> opaque_entries(const PyRef& root) {
  if (!root) return {};
  Walk walk;
  walk.visit(*root, "", {}, true);
  return std::move(walk.found);
}

}  // namespace taxon
