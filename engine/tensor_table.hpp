// What rules are evaluated against: one record per tensor of a model or a
// checkpoint, as plain data. Readers live in runtime/; nothing here does I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace taxon {

// `unknown`: a checkpoint's tensors. A state dict holds parameters and
// persistent buffers alike and does not say which is which.
enum class TensorKind { parameter, buffer, unknown };

struct TensorRecord {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;  // PyTorch's name without "torch.": float32, bfloat16, ...
  TensorKind kind = TensorKind::parameter;
  std::string module;       // path of the module that owns it directly ("" = root)
  std::string module_type;  // that module's class name; empty when unknown
  bool requires_grad = true;
  bool persistent = true;
  // Set when this entry shares storage with an earlier one (a tied weight):
  // the index of the first entry of the tie. Selections see only the first.
  std::optional<std::size_t> tied_to;
  // Which input a checkpoint's tensor comes from, when several are merged: "1", "2", ...
  std::string source;

  std::size_t rank() const { return shape.size(); }
  int64_t element_count() const;
};

// A shape as messages and reports write it: "[768, 3, 16, 16]".
std::string shape_text(const std::vector<int64_t>& shape);

// linnaeus's `parameter_groups_metadata["stages"]`: stage -> name patterns
// (contains), in the order written; when a name fits several stages the last
// one listed wins.
struct StageMap {
  std::vector<std::pair<std::string, std::vector<std::string>>> stages;

  // The stage a tensor name belongs to, if any.
  std::optional<std::string> stage_of(std::string_view name) const;
};

struct TensorTable {
  std::string model;  // the dump's "model" field, for reports
  std::vector<TensorRecord> tensors;
  std::vector<std::pair<std::string, std::string>> modules;  // (path, class name), may be empty
  // A module shared under several paths is listed under each (named_modules(remove_duplicate=False));
  // every path but its first maps to that first path, under which its tensors are named.
  std::unordered_map<std::string, std::string> module_alias_of;
  std::optional<StageMap> stage_map;
  // Each module's class ancestry, where the dump records it (modules[].mro): path -> the
  // qualified names of its class and of the classes it inherits from, in method resolution
  // order, without torch.nn.Module and object. Empty: type rules compare class names only.
  std::unordered_map<std::string, std::vector<std::string>> module_mro;
  bool has_module_types = false;  // false for a checkpoint's dump
  bool has_unknown_kinds = false;  // a checkpoint's dump: parameters and buffers cannot be told apart
};

// Names and shapes of a reference checkpoint, for `initialization` filters.
struct ReferenceShapes {
  std::string source;  // path, for reports
  std::unordered_map<std::string, std::vector<int64_t>> shapes;
};

// The first three names of `indices`, then ", ..." when there are more: examples for a message.
std::string example_names(const TensorTable& table, const std::vector<std::size_t>& indices);

}  // namespace taxon
