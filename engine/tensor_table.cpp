#include "engine/tensor_table.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace taxon {

std::string shape_text(std::span<const int64_t> shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t TensorRecord::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

SourceLabel SourceLabel::of_input(std::size_t number) {
  SourceLabel label;
  auto [end, error] = std::to_chars(label.text_, label.text_ + sizeof label.text_, number);
  if (error != std::errc()) throw std::invalid_argument(fmt::format("input {} is past the {} a source label holds", number, 9'999'999));
  label.size_ = static_cast<uint8_t>(end - label.text_);
  return label;
}

TensorRecord& TensorTable::add_copy(const TensorRecord& record) {
  TensorRecord& copy = tensors.emplace_back(record);
  copy.name = text(record.name);
  copy.shape = dims(record.shape.span());
  copy.dtype = text(record.dtype);
  copy.module = text(record.module);
  copy.module_type = text(record.module_type);
  return copy;
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

constexpr std::size_t kExampleNames = 3;  // enough to recognise a pattern, few enough for one line

std::string example_names(const TensorTable& table, const std::vector<std::size_t>& indices) {
  std::string out;
  for (std::size_t i = 0; i < std::min(indices.size(), kExampleNames); ++i) {
    if (i > 0) out += ", ";
    out += table.tensors[indices[i]].name;
  }
  if (indices.size() > kExampleNames) out += ", ...";
  return out;
}

}  // namespace taxon
