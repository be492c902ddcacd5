// What a `type` test compares: the names a module's class answers to. One
// definition, shared by the plain evaluator (Matcher), the compiled one
// (ModuleTypeMemo) and the unknown-type check, so that they cannot disagree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/ir.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

// "torch.nn.modules.normalization.LayerNorm" -> "LayerNorm": a class's __name__ is the last part
// of its __qualname__, whatever encloses it ("make.<locals>.Block" -> "Block").
inline std::string_view short_class_name(std::string_view qualified) {
  std::size_t dot = qualified.rfind('.');
  return dot == std::string_view::npos ? qualified : qualified.substr(dot + 1);
}

// The ancestry the dump records for the module at `path`, or null.
inline const std::vector<std::string>* module_mro(const TensorTable& table, std::string_view path) {
  if (table.module_mro.empty()) return nullptr;
  auto found = table.module_mro.find(path);
  return found == table.module_mro.end() ? nullptr : &found->second;
}

// Calls visit(name) for each name a test accepts for a module of class `type` whose ancestry is
// `mro` (null where unknown): the class's own name, short and qualified; unless `exact`, those of
// every class it inherits from too. An unknown (empty) class answers to nothing.
template <typename Visit>
void for_each_type_name(std::string_view type, const std::vector<std::string>* mro, bool exact, Visit&& visit) {
  if (!type.empty()) visit(type);
  if (!mro) return;
  for (std::size_t i = 0; i < mro->size() && (!exact || i == 0); ++i) {
    std::string_view qualified = (*mro)[i];
    visit(qualified);
    visit(short_class_name(qualified));
  }
}

inline bool type_test_matches(const ModuleTypeIn& test, std::string_view type, const std::vector<std::string>* mro) {
  bool found = false;
  for_each_type_name(type, mro, test.exact, [&](std::string_view name) {
    if (found || name.empty()) return;
    for (const auto& wanted : test.types)
      if (wanted == name) found = true;
  });
  return found;
}

}  // namespace taxon
