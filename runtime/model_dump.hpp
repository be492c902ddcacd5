// Reads `model-dump/1` files (docs/model-dump.md): a model's tensors with
// shapes, dtypes, owning modules and module types.
#pragma once

#include <string>

#include "engine/tensor_table.hpp"

namespace taxon {

struct DumpReadOptions {
  // A tensor list of at least this many bytes is read by two threads, each from one half (the
  // second half from an entry start found after the middle, kept only when the first reader
  // arrives exactly there). Below 32 MiB the second thread's memory (its half of the records,
  // copied over at the end) costs more than the few milliseconds it saves; a million tensors
  // (156 MB) read in 0.72 s instead of 0.82-0.95 s, at 1.5x the dump's size instead of 1.3x.
  std::size_t split_from = std::size_t{32} << 20;
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
