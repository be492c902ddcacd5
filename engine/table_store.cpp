#include "engine/table_store.hpp"

#include <algorithm>
#include <cstring>

namespace taxon {

bool operator==(Dims a, Dims b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

// Blocks double from 4 KiB to 1 MiB: a small table (a test's, a preset's) stays small, a big one
// makes one allocation per MiB. A request larger than a block gets a block of its own.
class TableStore::Blocks {
 public:
  // `alignment` is a power of two (alignof): rounded up by a mask, not a division, which costs
  // tens of cycles on a path taken for every string of a million-tensor dump.
  void* allocate(std::size_t bytes, std::size_t alignment) {
    std::size_t at = (used_ + alignment - 1) & ~(alignment - 1);
    if (blocks_.empty() || at + bytes > capacity_) {
      next_capacity_ = std::min(next_capacity_ * 2, kLargest);
      capacity_ = std::max(next_capacity_, bytes);
      blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(capacity_));
      allocated_ += capacity_;
      at = 0;
    }
    used_ = at + bytes;
    return blocks_.back().get() + at;
  }
  std::size_t allocated() const { return allocated_; }

 private:
  static constexpr std::size_t kLargest = std::size_t{1} << 20;
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::size_t capacity_ = 0, used_ = 0, allocated_ = 0;
  std::size_t next_capacity_ = 2048;
};

TableStore::TableStore(const TableStore& other) : kept_(other.kept_) {
  if (other.own_) kept_.push_back(other.own_);
}

TableStore& TableStore::operator=(const TableStore& other) {
  if (this != &other) *this = TableStore(other);
  return *this;
}

void* TableStore::allocate(std::size_t bytes, std::size_t alignment) {
  if (!own_) own_ = std::make_shared<Blocks>();
  return own_->allocate(bytes, alignment);
}

std::string_view TableStore::text(std::string_view text) {
  if (text.empty()) return {};
  char* out = static_cast<char*>(allocate(text.size(), 1));
  std::memcpy(out, text.data(), text.size());
  return {out, text.size()};
}

Dims TableStore::dims(std::span<const int64_t> sizes) {
  if (sizes.empty()) return {};
  auto* out = static_cast<int64_t*>(allocate(sizes.size_bytes(), alignof(int64_t)));
  std::memcpy(out, sizes.data(), sizes.size_bytes());
  return Dims::view({out, sizes.size()});
}

void TableStore::keep(const TableStore& other) {
  if (&other == this) return;
  for (const auto& blocks : other.kept_)
    if (std::find(kept_.begin(), kept_.end(), blocks) == kept_.end()) kept_.push_back(blocks);
  if (other.own_ && other.own_ != own_ && std::find(kept_.begin(), kept_.end(), other.own_) == kept_.end())
    kept_.push_back(other.own_);
}

std::size_t TableStore::bytes() const { return own_ ? own_->allocated() : 0; }

}  // namespace taxon
