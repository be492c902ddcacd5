#include "runtime/mapped_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/input_error.hpp"

namespace taxon {

namespace {
[[noreturn]] void fail_to_map(const std::string& path, int fd, int error) {
  ::close(fd);
  throw InputError(code::unreadable_file, fmt::format("cannot map {}: {}", path, std::strerror(error)));
}
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(code::unreadable_file, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    int error = errno;
    ::close(fd);
    throw InputError(code::unreadable_file, fmt::format("cannot read {}: {}", path,
                                                        S_ISDIR(info.st_mode) ? "it is a directory" : std::strerror(error)));
  }
  std::size_t size = static_cast<std::size_t>(info.st_size);
  if (size == 0) return std::shared_ptr<const MappedFile>(new MappedFile(path, fd, nullptr, 0));
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) fail_to_map(path, fd, errno);
  return std::shared_ptr<const MappedFile>(new MappedFile(path, fd, static_cast<const uint8_t*>(base), size));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  ::close(fd_);
}

}  // namespace taxon
