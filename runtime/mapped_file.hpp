// A read-only memory map of a whole file: zero-copy views for readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace taxon {

class MappedFile {
 public:
  // Throws InputError (naming the file and the system's reason).
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }  // kept open for in-kernel copies (copy_file_range)
  std::string_view view(std::size_t offset, std::size_t length) const {
    return {reinterpret_cast<const char*>(data_) + offset, length};
  }

 private:
  MappedFile(std::string path, int fd, const uint8_t* data, std::size_t size)
      : path_(std::move(path)), fd_(fd), data_(data), size_(size) {}
  std::string path_;
  int fd_;
  const uint8_t* data_;
  std::size_t size_;
};

}  // namespace taxon
