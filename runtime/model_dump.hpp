// Reads `model-dump/1` files (docs/model-dump.md): a model's tensors with
// shapes, dtypes, owning modules and module types.
#pragma once

#include <string>

#include "engine/tensor_table.hpp"

namespace taxon {

// Throws InputError on an unreadable file, invalid JSON (with line and
// column) or a field that breaks the format (naming the tensor and field).
TensorTable read_model_dump(const std::string& path);

// Parses dump text already in memory; `path` is for messages only.
TensorTable parse_model_dump(const std::string& text, const std::string& path);

// The names and shapes of a reference model dump (for `initialization`).
ReferenceShapes read_reference(const std::string& path);
// What `initialization` rules compare with: the table's parameters and persistent buffers.
ReferenceShapes reference_shapes(const TensorTable& table, std::string source);

}  // namespace taxon
