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
  // The same, followed by at least `padding` readable zero bytes (capacity() >= size() + padding),
  // for parsers that read past the end in wide words (simdjson). Nothing is copied: the file's
  // pages are mapped over an anonymous reservation that supplies the padding.
  static std::shared_ptr<const MappedFile> open_padded(const std::string& path, std::size_t padding);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return mapped_length_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }  // kept open for in-kernel copies (copy_file_range)
  std::string_view view(std::size_t offset, std::size_t length) const {
    return {reinterpret_cast<const char*>(data_) + offset, length};
  }

 private:
  MappedFile(std::string path, int fd, const uint8_t* data, std::size_t size, std::size_t mapped_length)
      : path_(std::move(path)), fd_(fd), data_(data), size_(size), mapped_length_(mapped_length) {}
  static std::shared_ptr<const MappedFile> map(const std::string& path, std::size_t padding);
  std::string path_;
  int fd_;
  const uint8_t* data_;
  std::size_t size_;
  std::size_t mapped_length_;  // what munmap releases: the size, or the padded reservation
};

}  // namespace taxon
