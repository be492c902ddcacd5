#include "runtime/zip_archive.hpp"

#include <cstring>

#include <fmt/format.h>

#include "runtime/crc32.hpp"
#include "runtime/input_error.hpp"

namespace taxon {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;

class Cursor {
 public:
  Cursor(const MappedFile& file, uint64_t offset) : file_(file), offset_(offset) {}
  bool has(uint64_t bytes) const { return offset_ <= file_.size() && bytes <= file_.size() - offset_; }
  template <typename T>
  T read() {
    T value{};
    if (!has(sizeof(T))) fail();
    std::memcpy(&value, file_.data() + offset_, sizeof(T));  // zip is little-endian, as is every host taxon targets
    offset_ += sizeof(T);
    return value;
  }
  std::string_view bytes(uint64_t length) {
    if (!has(length)) fail();
    auto out = file_.view(offset_, length);
    offset_ += length;
    return out;
  }
  void skip(uint64_t length) {
    if (!has(length)) fail();
    offset_ += length;
  }
  uint64_t offset() const { return offset_; }

 private:
  [[noreturn]] void fail() const {
    throw InputError(code::corrupt_checkpoint,
                     fmt::format("{}: truncated zip archive (a structure at byte {} runs past the end of the file)",
                                 file_.path(), offset_));
  }
  const MappedFile& file_;
  uint64_t offset_;
};

}  // namespace

bool ZipArchive::looks_like_zip(const MappedFile& file) {
  uint32_t signature = 0;
  if (file.size() < 4) return false;
  std::memcpy(&signature, file.data(), 4);
  return signature == kLocalHeader;
}

ZipArchive::ZipArchive(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {
  const MappedFile& f = *file_;
  auto fail = [&](const std::string& what) {
    throw InputError(code::corrupt_checkpoint, fmt::format("{}: not a valid zip archive: {}", f.path(), what));
  };
  // The end-of-central-directory record: within the last 64 KiB + 22 bytes.
  if (f.size() < 22) fail("too short to hold a central directory");
  std::optional<uint64_t> end;
  uint64_t lowest = f.size() > 65557 ? f.size() - 65557 : 0;
  for (uint64_t at = f.size() - 22;; --at) {
    uint32_t signature = 0;
    std::memcpy(&signature, f.data() + at, 4);
    if (signature == kEndOfCentralDirectory) {
      end = at;
      break;
    }
    if (at == lowest) break;
  }
  if (!end) fail("no end-of-central-directory record (the file is truncated or not a zip)");
  Cursor eocd(f, *end + 4);
  eocd.skip(4);  // disk numbers
  eocd.skip(2);
  uint64_t count = eocd.read<uint16_t>();
  uint64_t directory_size = eocd.read<uint32_t>();
  uint64_t directory_offset = eocd.read<uint32_t>();
  if (count == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF) {
    if (*end < 20) fail("a ZIP64 archive without its locator");
    Cursor locator(f, *end - 20);
    if (locator.read<uint32_t>() != kZip64Locator) fail("a ZIP64 archive without its locator");
    locator.skip(4);
    Cursor zip64(f, locator.read<uint64_t>());
    if (zip64.read<uint32_t>() != kZip64End) fail("the ZIP64 end record is missing");
    zip64.skip(8 + 2 + 2 + 4 + 4 + 8);  // size, versions, disks, entries on this disk
    count = zip64.read<uint64_t>();
    directory_size = zip64.read<uint64_t>();
    directory_offset = zip64.read<uint64_t>();
  }
  if (directory_offset > f.size() || directory_size > f.size() - directory_offset)
    fail(fmt::format("the central directory (offset {}, {} bytes) lies outside the file ({} bytes)", directory_offset,
                     directory_size, f.size()));
  if (count > directory_size / 46) fail(fmt::format("{} entries cannot fit in a {}-byte central directory", count, directory_size));

  Cursor entry(f, directory_offset);
  for (uint64_t i = 0; i < count; ++i) {
    if (entry.read<uint32_t>() != kCentralHeader) fail(fmt::format("central directory entry {} is damaged", i));
    entry.skip(2 + 2 + 2);  // versions, flags
    uint16_t method = entry.read<uint16_t>();
    entry.skip(2 + 2);  // time, date
    uint32_t crc = entry.read<uint32_t>();
    uint64_t compressed = entry.read<uint32_t>();
    uint64_t size = entry.read<uint32_t>();
    uint16_t name_length = entry.read<uint16_t>();
    uint16_t extra_length = entry.read<uint16_t>();
    uint16_t comment_length = entry.read<uint16_t>();
    entry.skip(2 + 2 + 4);  // disk, attributes
    uint64_t local_offset = entry.read<uint32_t>();
    std::string name(entry.bytes(name_length));
    std::string_view extra = entry.bytes(extra_length);
    entry.skip(comment_length);
    // ZIP64 extended information: the 8-byte values, in this order, for the fields that are 0xFFFFFFFF.
    for (std::size_t at = 0; at + 4 <= extra.size();) {
      uint16_t id = 0, length = 0;
      std::memcpy(&id, extra.data() + at, 2);
      std::memcpy(&length, extra.data() + at + 2, 2);
      if (at + 4 + length > extra.size()) break;
      if (id == 0x0001) {
        std::size_t field = at + 4;
        auto take = [&](uint64_t& value) {
          if (value != 0xFFFFFFFF || field + 8 > at + 4 + length) return;
          std::memcpy(&value, extra.data() + field, 8);
          field += 8;
        };
        take(size);
        take(compressed);
        take(local_offset);
      }
      at += 4 + length;
    }
    Cursor local(f, local_offset);
    if (local.read<uint32_t>() != kLocalHeader) fail(fmt::format("record {} has no local header at byte {}", name, local_offset));
    local.skip(22);
    uint16_t local_name = local.read<uint16_t>();
    uint16_t local_extra = local.read<uint16_t>();
    local.skip(static_cast<uint64_t>(local_name) + local_extra);
    uint64_t stored = method == 0 ? size : compressed;
    if (!local.has(stored))
      fail(fmt::format("record {} ({} bytes at byte {}) runs past the end of the file ({} bytes)", name, stored, local.offset(),
                       f.size()));
    if (method == 0 && compressed != size) fail(fmt::format("stored record {} has two different sizes", name));
    std::size_t slash = name.find('/');
    if (i == 0) prefix_ = slash == std::string::npos ? "" : name.substr(0, slash);
    std::string short_name = slash == std::string::npos ? name : name.substr(slash + 1);
    records_.push_back(Record{short_name, local.offset(), size, compressed, method, crc});
    by_name_.emplace(short_name, records_.size() - 1);
  }
}

const ZipArchive::Record* ZipArchive::find(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : &records_[found->second];
}

std::string_view ZipArchive::read(std::string_view name, Check check) const {
  const Record* record = find(name);
  if (!record)
    throw InputError(code::corrupt_checkpoint, fmt::format("{}: the archive has no record {}/{}", file_->path(), prefix_, name));
  if (record->method != 0)
    throw InputError(code::unsupported_input,
                     fmt::format("{}: record {}/{} is compressed; torch.save stores records uncompressed, so this "
                                 "archive was rewritten by another tool",
                                 file_->path(), prefix_, name));
  std::string_view bytes = file_->view(record->data_offset, record->size);
  if (check == Check::crc && crc32(0, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) != record->crc32)
    throw InputError(code::corrupt_checkpoint,
                     fmt::format("{}: record {}/{} is damaged (its CRC-32 does not match its bytes)", file_->path(), prefix_, name));
  return bytes;
}

}  // namespace taxon
