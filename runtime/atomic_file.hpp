// Writing an output so that it is whole or absent: bytes go to an unnamed
// file in the target's directory (O_TMPFILE); commit() fsyncs it, links it
// in under a hidden temporary name and renames that over the target, then
// fsyncs the directory. Until then (an error, a full disk, a crash, a kill)
// the target and any earlier file at its path are untouched, and there is no
// file to clean up: an unnamed file vanishes with the process. Filesystems
// without O_TMPFILE get a named hidden temporary that the destructor removes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace taxon {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws InputError (T0604)
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);  // large writes go straight from the caller's memory
  void write(std::string_view text) { write(text.data(), text.size()); }
  // The same bytes as write(data, size), copied file to file inside the kernel
  // when it can (copy_file_range), so they never pass through user space.
  void copy_from(int fd, uint64_t offset, const void* data, std::size_t size);
  uint64_t written() const { return written_; }
  void commit();

 private:
  void flush_buffer();
  [[noreturn]] void fail(const char* what);
  std::string path_, directory_;
  std::string temporary_;  // the named temporary, once there is one
  int fd_ = -1;
  std::vector<char> buffer_;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace taxon
