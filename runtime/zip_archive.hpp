// The zip container of PyTorch's `torch.save` format: a read-only index of
// its records, each a zero-copy view into the mapped file. PyTorch stores
// records uncompressed and writes sizes only in the central directory, so
// that is what is read; every offset and size is checked against the file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/mapped_file.hpp"

namespace taxon {

class ZipArchive {
 public:
  struct Record {
    std::string name;  // without the archive's top folder
    uint64_t data_offset = 0;
    uint64_t size = 0;  // uncompressed
    uint64_t compressed_size = 0;
    uint16_t method = 0;  // 0 stored, 8 deflate
    uint32_t crc32 = 0;   // as the central directory gives it
  };
  enum class Check { none, crc };

  // True when the file starts like a zip (a local file header).
  static bool looks_like_zip(const MappedFile& file);

  // Throws InputError when the central directory is missing or inconsistent.
  explicit ZipArchive(std::shared_ptr<const MappedFile> file);

  const std::string& prefix() const { return prefix_; }  // the top folder, e.g. "archive"
  const std::vector<Record>& records() const { return records_; }
  const Record* find(std::string_view name) const;

  // The bytes of a stored record; throws InputError for a missing or
  // compressed one, or (Check::crc) one whose bytes fail its CRC-32. Records
  // that are parsed (data.pkl) are checked; tensor bytes are not, since that
  // would cost a pass over every byte of every checkpoint read.
  std::string_view read(std::string_view name, Check check = Check::none) const;
  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::string prefix_;
  std::vector<Record> records_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace taxon
