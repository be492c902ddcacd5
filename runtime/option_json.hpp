// A group or action option as JSON: one conversion for reports (ordered
// JSON) and for the tensor actions' options (plain JSON).
#pragma once

#include <nlohmann/json.hpp>

#include "engine/ir.hpp"

namespace taxon {

template <typename Json>
Json option_to_json(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<V, OptionValue::List>) {
          Json list = Json::array();
          for (const auto& item : v) list.push_back(option_to_json<Json>(item));
          return list;
        } else if constexpr (std::is_same_v<V, OptionValue::Map>) {
          Json map = Json::object();
          for (const auto& [key, item] : v) map[key] = option_to_json<Json>(item);
          return map;
        } else {
          return v;
        }
      },
      value.value);
}

}  // namespace taxon
