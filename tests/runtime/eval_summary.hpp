// What an evaluation reports, as one comparable text: the selections, the
// groups (tensors, options, per-tensor options) and the overlaps. For tests
// that check two evaluations agree.
#pragma once

#include <string>

#include <fmt/format.h>

#include "engine/evaluate.hpp"

namespace taxon::testing {

inline std::string text(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) return "null";
        else if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, int64_t>) return "int:" + std::to_string(v);
        else if constexpr (std::is_same_v<V, double>) return fmt::format("float:{}", v);
        else if constexpr (std::is_same_v<V, std::string>) return "str:" + v;
        else if constexpr (std::is_same_v<V, OptionValue::List>) {
          std::string out = "[";
          for (const auto& item : v) out += text(item) + ",";
          return out + "]";
        } else {
          std::string out = "{";
          for (const auto& [key, item] : v) out += key + ":" + text(item) + ",";
          return out + "}";
        }
      },
      value.value);
}

// Everything the JSON contract reports, except diagnostics.
inline std::string summary(const EvalResult& result, const TensorTable& table) {
  std::string out;
  for (const auto& selection : result.selections) {
    out += "selection " + selection.name + ":";
    for (auto i : selection.tensors) (out += " ") += table.tensors[i].name;
    out += "\n";
  }
  for (const auto& group : result.groups) {
    out += "group " + group.name + " {";
    for (const auto& option : group.options) out += option.key + "=" + text(option.value) + ";";
    out += "}:";
    for (auto i : group.tensors) (out += " ") += table.tensors[i].name;
    out += "\n";
    for (const auto& entry : group.per_tensor) {
      ((out += "  ") += table.tensors[entry.tensor].name) += ":";
      for (const auto& [key, value] : entry.values) out += " " + key + "=" + text(value);
      out += "\n";
    }
  }
  for (const auto& overlap : result.overlaps) {
    ((out += "overlap ") += table.tensors[overlap.tensor].name) += ":";
    for (const auto& g : result.group_names(overlap.groups)) out += " " + g;
    out += " ->";
    for (const auto& g : result.group_names(overlap.assigned)) out += " " + g;
    out += "\n";
  }
  return out;
}

// The diagnostics, one line each: code, severity, line and message.
inline std::string diagnostics_summary(const EvalResult& result) {
  std::string out;
  for (const auto& d : result.diagnostics.items())
    out += fmt::format("{} {} {}:{} {}\n", d.code, static_cast<int>(d.severity), d.span.line, d.span.col, d.message);
  return out;
}

}  // namespace taxon::testing
