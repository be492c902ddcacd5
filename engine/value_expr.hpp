// Evaluates computed options: layer-wise decay and friends.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/ir.hpp"

namespace taxon {

// A capture's text as a number, where all of it is one ("12", "0.5"); nullopt otherwise.
std::optional<double> capture_number(std::string_view text);

// The named captures one tensor binds: (name, text) views, the first binding of a name kept.
// Names view the regex's own table and texts the tensor's strings, so one object reused from
// tensor to tensor allocates nothing once grown (a million tensors: no map per tensor).
class Captures {
 public:
  void clear() { bound_.clear(); }
  // False, binding nothing, when the name is bound already.
  bool bind(std::string_view name, std::string_view text);
  std::optional<std::string_view> text(std::string_view name) const;
  std::optional<double> number(std::string_view name) const { return with_text(name, capture_number); }
  bool empty() const { return bound_.empty(); }
  std::map<std::string, std::string> to_map() const;

 private:
  template <typename Read>
  std::optional<double> with_text(std::string_view name, Read read) const {
    auto found = text(name);
    return found ? read(*found) : std::nullopt;
  }
  std::vector<std::pair<std::string_view, std::string_view>> bound_;
};

// The value of `expr` with the given captures (those that are numbers); NaN when a capture is
// missing or not a number, or an aggregate was not resolved (resolve_aggregates). Division by
// zero gives ±inf, as IEEE arithmetic does.
double evaluate_value(const ValueExpr& expr, const Captures& captures);

// Whether the value differs from tensor to tensor (it names a capture).
bool uses_captures(const ValueExpr& expr);
// Whether it needs the model (an aggregate such as `max(i where ...)`).
bool uses_aggregates(const ValueExpr& expr);

// Calls `visit` with each aggregate in `expr`.
void for_each_aggregate(const ValueExpr& expr, const std::function<void(const ValueAggregate&)>& visit);

// `expr` with every aggregate replaced by the number `value_of` gives for it.
ValueExpr resolve_aggregates(const ValueExpr& expr, const std::function<double(const ValueAggregate&)>& value_of);

}  // namespace taxon
