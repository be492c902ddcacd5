// Module-type lookups, memoized: a table holds a few dozen module classes
// for tens of thousands of tensors, so `type in {...}` is answered once per
// distinct class and then read per tensor by the class's index. A class is
// its name and, where the dump records it, its ancestry: two classes of one
// name from different packages answer isinstance tests differently.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/tensor_table.hpp"
#include "engine/type_names.hpp"

namespace taxon {

class ModuleTypeMemo {
 public:
  explicit ModuleTypeMemo(const TensorTable& table) {
    std::map<std::pair<std::string_view, const std::vector<std::string>*>, int32_t> index;
    type_of_.reserve(table.tensors.size());
    const TensorRecord* last = nullptr;
    int32_t last_index = -1;
    bool by_module = !table.module_mro.empty();  // without ancestry, a class is its name alone
    // The reader stores each class name once, so neighbours of one class mostly view the same
    // bytes: compared by address first, by content only when the addresses differ.
    auto same = [](std::string_view a, std::string_view b) { return (a.data() == b.data() && a.size() == b.size()) || a == b; };
    for (const auto& tensor : table.tensors) {
      // Neighbours mostly share an owner, or at least a class: look up only on a change.
      if (!last || !same(tensor.module_type, last->module_type) || (by_module && !same(tensor.module, last->module))) {
        const std::vector<std::string>* mro = module_mro(table, tensor.module);
        auto [found, inserted] = index.emplace(std::pair{std::string_view(tensor.module_type), mro},
                                               static_cast<int32_t>(classes_.size()));
        if (inserted) classes_.push_back({std::string(tensor.module_type), mro});
        last_index = found->second;
      }
      last = &tensor;
      type_of_.push_back(last_index);
      if (auto first = tensor.tied_to) aliases_[*first].push_back(last_index);
    }
  }

  // One flag per distinct class: does `test` accept it?
  std::vector<bool> answers(const ModuleTypeIn& test) const {
    std::vector<bool> out;
    out.reserve(classes_.size());
    for (const auto& owner : classes_) out.push_back(type_test_matches(test, owner.type, owner.mro));
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

  std::size_t distinct() const { return classes_.size(); }

 private:
  struct OwnerClass {
    std::string type;
    const std::vector<std::string>* mro;  // into the table; null where unknown
  };
  std::vector<OwnerClass> classes_;
  std::vector<int32_t> type_of_;
  std::unordered_map<std::size_t, std::vector<int32_t>> aliases_;
};

}  // namespace taxon
