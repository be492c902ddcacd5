#include "engine/tensor_table.hpp"

#include <string_view>

#include <fmt/format.h>

namespace taxon {

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t TensorRecord::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::optional<std::string> StageMap::stage_of(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [stage, patterns] : stages) {
    for (const auto& pattern : patterns) {
      if (name.find(pattern) != std::string_view::npos) {
        found = stage;  // keep looking: the last stage listed wins
        break;
      }
    }
  }
  return found;
}

}  // namespace taxon
