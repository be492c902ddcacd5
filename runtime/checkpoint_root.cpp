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

PyRef replaced(const PyRef& node, const std::vector<std::string>& path, std::size_t at, const PyRef& state_dict,
               const std::vector<std::string>& left_out) {
  if (at == path.size()) return state_dict;
  const PyDict* dict = as_dict(node);
  if (!dict) return state_dict;
  PyDict copy;
  copy.ordered = dict->ordered;
  copy.state = dict->state;
  for (const auto& [key, value] : dict->items) {
    const std::string* name = as_string(key);
    if (name && *name == path[at])
      copy.items.emplace_back(key, replaced(value, path, at + 1, state_dict, left_out));
    else if (!(at == 0 && name && std::find(left_out.begin(), left_out.end(), *name) != left_out.end()))
      copy.items.emplace_back(key, value);
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
                  const std::vector<std::string>& left_out) {
  if (!root || state_dict_path.empty()) return state_dict;
  return replaced(root, state_dict_path, 0, state_dict, left_out);
}

}  // namespace taxon
