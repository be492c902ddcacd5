// A nested checkpoint written back around a new state dict.
#include <algorithm>
#include <array>
#include <string_view>

#include "runtime/checkpoint_writer.hpp"

namespace taxon {
namespace {

bool has_key(const PyDict& dict, std::string_view key) {
  return std::any_of(dict.items.begin(), dict.items.end(), [&](const auto& item) {
    const std::string* name = as_string(item.first);
    return name && *name == key;
  });
}

// torch.optim.Optimizer.state_dict(): {"state": {index: ...}, "param_groups": [{"params": [index, ...]}]}.
bool is_optimizer_state(const PyRef& value) {
  const PyDict* dict = as_dict(value);
  return dict && has_key(*dict, "state") && has_key(*dict, "param_groups");
}

// Whether an entry refers to parameters by their position in the model: an
// optimizer's state (alone or in a list, as Lightning keeps them), or
// Lightning's schedulers, whose per-group values follow the optimizer's groups.
bool refers_by_position(std::string_view key, const PyRef& value) {
  static constexpr std::array<std::string_view, 7> kNames = {"optimizer",    "optimizer_state_dict", "optimizer_states",
                                                             "lr_schedulers", "lr_scheduler",        "scheduler",
                                                             "optim"};
  if (std::find(kNames.begin(), kNames.end(), key) != kNames.end()) return true;
  if (is_optimizer_state(value)) return true;
  if (const auto* list = value ? std::get_if<PyList>(&value->value) : nullptr)
    return !list->items.empty() && std::all_of(list->items.begin(), list->items.end(), is_optimizer_state);
  return false;
}

bool starts_with(const std::vector<std::string>& path, const std::vector<std::string>& prefix, std::size_t length) {
  return path.size() >= length && prefix.size() >= length && std::equal(prefix.begin(), prefix.begin() + length, path.begin());
}

// A copy of the dicts along the edited paths, the rest shared: the state dict put in at
// `state_dict_path`, the entries at `left_out` taken away. `at` keys of each path are behind us.
PyRef edited(const PyRef& node, std::size_t at, const std::vector<std::string>& state_dict_path, const PyRef& state_dict,
             const std::vector<std::vector<std::string>>& left_out, const std::vector<std::string>& here) {
  bool on_state_dict = starts_with(state_dict_path, here, at);
  if (on_state_dict && at == state_dict_path.size()) return state_dict;
  const PyDict* dict = as_dict(node);
  if (!dict) return on_state_dict ? state_dict : node;
  bool touched = on_state_dict;
  for (const auto& path : left_out) touched = touched || (path.size() > at && starts_with(path, here, at));
  if (!touched) return node;
  PyDict copy;
  copy.ordered = dict->ordered;
  copy.state = dict->state;
  std::vector<std::string> below = here;
  for (const auto& [key, value] : dict->items) {
    const std::string* name = as_string(key);
    if (!name) {
      copy.items.emplace_back(key, value);
      continue;
    }
    below.resize(at);
    below.push_back(*name);
    bool removed = std::any_of(left_out.begin(), left_out.end(),
                               [&](const auto& path) { return path.size() == at + 1 && starts_with(path, below, at + 1); });
    if (!removed) copy.items.emplace_back(key, edited(value, at + 1, state_dict_path, state_dict, left_out, below));
  }
  return std::make_shared<PyValue>(std::move(copy), node->depth);
}

}  // namespace

std::vector<std::string> positional_entries(const PyRef& root) {
  std::vector<std::string> out;
  if (const PyDict* dict = as_dict(root))
    for (const auto& [key, value] : dict->items)
      if (const std::string* name = as_string(key); name && refers_by_position(*name, value)) out.push_back(*name);
  return out;
}

PyRef nested_root(const PyRef& root, const std::vector<std::string>& state_dict_path, const PyRef& state_dict,
                  const std::vector<std::vector<std::string>>& left_out) {
  if (!root || state_dict_path.empty()) return state_dict;
  return edited(root, 0, state_dict_path, state_dict, left_out, {});
}

}  // namespace taxon
