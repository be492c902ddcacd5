// Where a tensor table keeps its strings and shapes: append-only blocks, so that a table of a
// million tensors makes a few hundred allocations rather than four per tensor, and a record is
// a handful of views (docs/performance.md). Views stay valid for as long as any table that
// holds the store (or a copy of it) lives; nothing stored is ever moved or freed before that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace taxon {

// A tensor's sizes, viewed where its table stores them. Built only by TableStore::dims (or
// Dims::view of an array the caller keeps alive), so that no record views a temporary.
class Dims {
 public:
  Dims() = default;
  static Dims view(std::span<const int64_t> sizes) { return Dims(sizes); }

  const int64_t* begin() const { return sizes_.data(); }
  const int64_t* end() const { return sizes_.data() + sizes_.size(); }
  const int64_t* data() const { return sizes_.data(); }
  std::size_t size() const { return sizes_.size(); }
  bool empty() const { return sizes_.empty(); }
  int64_t operator[](std::size_t i) const { return sizes_[i]; }
  int64_t back() const { return sizes_.back(); }
  std::span<const int64_t> span() const { return sizes_; }
  std::vector<int64_t> to_vector() const { return {sizes_.begin(), sizes_.end()}; }

  friend bool operator==(Dims a, Dims b);
  friend bool operator==(Dims a, const std::vector<int64_t>& b) { return a == view(b); }

 private:
  explicit Dims(std::span<const int64_t> sizes) : sizes_(sizes) {}
  std::span<const int64_t> sizes_;
};

class TableStore {
 public:
  TableStore() = default;
  // A copy reads everything the original stored and stores its own additions apart, so
  // that two copies never write one block (they may live on different threads).
  TableStore(const TableStore& other);
  TableStore& operator=(const TableStore& other);
  TableStore(TableStore&&) noexcept = default;
  TableStore& operator=(TableStore&&) noexcept = default;

  std::string_view text(std::string_view text);
  Dims dims(std::span<const int64_t> sizes);
  // Keeps what `other` stored alive as long as this store: for records moved between tables.
  void keep(const TableStore& other);
  std::size_t bytes() const;  // allocated for this store's own additions

 private:
  class Blocks;
  void* allocate(std::size_t bytes, std::size_t alignment);

  std::vector<std::shared_ptr<const Blocks>> kept_;  // read-only here: copies' and others' blocks
  std::shared_ptr<Blocks> own_;                       // written only by this store
};

}  // namespace taxon
