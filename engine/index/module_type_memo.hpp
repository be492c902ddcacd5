// Module-type lookups, memoized: a table holds a few dozen module classes
// for tens of thousands of tensors, so `type in {...}` is answered once per
// distinct class and then read per tensor by the class's index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tensor_table.hpp"

namespace taxon {

class ModuleTypeMemo {
 public:
  explicit ModuleTypeMemo(const TensorTable& table) {
    std::unordered_map<std::string_view, int32_t> index;
    type_of_.reserve(table.tensors.size());
    std::string_view last;
    int32_t last_index = -1;
    for (const auto& tensor : table.tensors) {
      if (last_index < 0 || tensor.module_type != last) {  // neighbours mostly share a class: hash only on a change
        auto [found, inserted] = index.emplace(tensor.module_type, static_cast<int32_t>(types_.size()));
        if (inserted) types_.push_back(tensor.module_type);
        last = tensor.module_type;
        last_index = found->second;
      }
      type_of_.push_back(last_index);
    }
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (auto first = table.tensors[i].tied_to) aliases_[*first].push_back(type_of_[i]);
  }

  // One flag per distinct class: is it one of `types`? (An unknown, empty class never is.)
  std::vector<bool> answers(const std::vector<std::string>& types) const {
    std::vector<bool> out;
    for (const auto& type : types_) out.push_back(!type.empty() && std::find(types.begin(), types.end(), type) != types.end());
    return out;
  }

  // The tensor's owner, or the owner of any tensor tied to it, has a class `answers` accepts.
  bool matches(std::size_t tensor, const std::vector<bool>& answers) const {
    if (answers[static_cast<std::size_t>(type_of_[tensor])]) return true;
    auto found = aliases_.find(tensor);
    if (found == aliases_.end()) return false;
    return std::any_of(found->second.begin(), found->second.end(),
                       [&](int32_t type) { return answers[static_cast<std::size_t>(type)]; });
  }

  std::size_t distinct() const { return types_.size(); }

 private:
  std::vector<std::string> types_;
  std::vector<int32_t> type_of_;
  std::unordered_map<std::size_t, std::vector<int32_t>> aliases_;
};

}  // namespace taxon
