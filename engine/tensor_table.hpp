// What rules are evaluated against: one record per tensor of a model or a
// checkpoint, as plain data. Readers live in runtime/; nothing here does I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/table_store.hpp"

namespace taxon {

// Maps keyed by std::string that are looked up with a std::string_view (a record's views).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// `unknown`: a checkpoint's tensors. A state dict holds parameters and
// persistent buffers alike and does not say which is which.
enum class TensorKind : uint8_t { parameter, buffer, unknown };

// The index of the earlier tensor a tied one shares storage with, or none: std::optional's
// interface in four bytes. A table holds fewer than 2^32 tensors (a dump of that many would
// take 140 GB).
class TieIndex {
 public:
  TieIndex() = default;
  TieIndex(std::nullopt_t) {}
  TieIndex(std::size_t index) : index_(static_cast<uint32_t>(index)) {}
  explicit operator bool() const { return index_ != kNone; }
  bool has_value() const { return index_ != kNone; }
  std::size_t operator*() const { return index_; }
  void reset() { index_ = kNone; }
  friend bool operator==(TieIndex, TieIndex) = default;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t index_ = kNone;
};

// Which input a checkpoint's tensor comes from when several are merged, as a `source` test
// reads it: "1", "2", ...; empty when they are not. Held in the record itself (8 bytes), so a
// view of it lasts as long as the record.
class SourceLabel {
 public:
  SourceLabel() = default;
  static SourceLabel of_input(std::size_t number);  // 1 -> "1"; up to 9,999,999
  std::string_view view() const { return {text_, size_}; }
  operator std::string_view() const { return view(); }

 private:
  char text_[7] = {};
  uint8_t size_ = 0;
};

// One tensor. Its strings and sizes are views of where its table stores them
// (TensorTable::store): a record is only meaningful beside its table, and a record built
// outside one must view strings that outlive it.
struct TensorRecord {
  std::string_view name;
  Dims shape;
  std::string_view dtype;  // PyTorch's name without "torch.": float32, bfloat16, ...
  std::string_view module;       // path of the module that owns it directly ("" = root)
  std::string_view module_type;  // that module's class name; empty when unknown
  SourceLabel source;
  TensorKind kind = TensorKind::parameter;
  bool requires_grad = true;
  bool persistent = true;
  // Set when this entry shares storage with an earlier one (a tied weight):
  // the index of the first entry of the tie. Selections see only the first.
  TieIndex tied_to;

  std::size_t rank() const { return shape.size(); }
  int64_t element_count() const;
};
// A million tensors are a million of these: the size is watched.
static_assert(sizeof(TensorRecord) <= 96);

// A shape as messages and reports write it: "[768, 3, 16, 16]".
std::string shape_text(std::span<const int64_t> shape);
inline std::string shape_text(Dims shape) { return shape_text(shape.span()); }

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
  std::vector<std::pair<std::string_view, std::string_view>> modules;  // (path, class name), may be empty
  // A module shared under several paths is listed under each (named_modules(remove_duplicate=False));
  // every path but its first maps to that first path, under which its tensors are named.
  StringMap<std::string> module_alias_of;
  std::optional<StageMap> stage_map;
  // Each module's class ancestry, where the dump records it (modules[].mro): path -> the
  // qualified names of its class and of the classes it inherits from, in method resolution
  // order, without torch.nn.Module and object. Empty: type rules compare class names only.
  StringMap<std::vector<std::string>> module_mro;
  bool has_module_types = false;  // false for a checkpoint's dump
  bool has_unknown_kinds = false;  // a checkpoint's dump: parameters and buffers cannot be told apart
  TableStore store;  // what the views of `tensors` and `modules` point into

  std::string_view text(std::string_view value) { return store.text(value); }
  Dims dims(std::span<const int64_t> sizes) { return store.dims(sizes); }
  void add_module(std::string_view path, std::string_view type) { modules.emplace_back(text(path), text(type)); }
  // A record of another table, its strings stored here.
  TensorRecord& add_copy(const TensorRecord& record);
};

// Names and shapes of a reference checkpoint, for `initialization` filters.
struct ReferenceShapes {
  std::string source;  // path, for reports
  std::unordered_map<std::string, std::vector<int64_t>> shapes;
};

// The first three names of `indices`, then ", ..." when there are more: examples for a message.
std::string example_names(const TensorTable& table, const std::vector<std::size_t>& indices);

}  // namespace taxon
