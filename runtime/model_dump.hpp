// Reads `model-dump/1` files (docs/model-dump.md): a model's tensors with
// shapes, dtypes, owning modules and module types.
#pragma once

#include <string>

#include "engine/tensor_table.hpp"

namespace taxon {

struct DumpReadOptions {
  // A dump of at least this many bytes is read by two threads where the process may use two
  // CPUs: the second from an entry start found after the middle of the text, kept only when the
  // first reader, reading the tensor list, arrives exactly there. Its records are copied over at
  // the end, a megabyte at a time, from a mapping handed back as it goes, so the peak is about
  // that of one reader (docs/performance.md).
  std::size_t split_from = std::size_t{4} << 20;
};

// Throws InputError on an unreadable file, invalid JSON (with line and
// column) or a field that breaks the format (naming the tensor and field).
TensorTable read_model_dump(const std::string& path, const DumpReadOptions& options = {});

// Parses dump text already in memory; `path` is for messages only.
TensorTable parse_model_dump(const std::string& text, const std::string& path);

// The names and shapes of a reference model dump (for `initialization`).
ReferenceShapes read_reference(const std::string& path);
// What `initialization` rules compare with: the table's parameters and persistent buffers.
ReferenceShapes reference_shapes(const TensorTable& table, std::string source);

}  // namespace taxon
