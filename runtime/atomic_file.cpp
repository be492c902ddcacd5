#include "runtime/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/input_error.hpp"

namespace taxon {
namespace {
constexpr std::size_t kBuffer = 1 << 20;

// ".model.safetensors.taxon-XXXXXX" beside the target: a name nobody else uses.
std::string hidden_name(const std::filesystem::path& target, std::string_view suffix = "XXXXXX") {
  std::filesystem::path directory = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  return (directory / fmt::format(".{}.taxon-{}", target.filename().string(), suffix)).string();
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  fs::path target(path_);
  directory_ = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  struct stat existing {};
  mode_t mode = ::stat(path_.c_str(), &existing) == 0 ? (existing.st_mode & 07777) : 0644;
  fd_ = ::open(directory_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string pattern = hidden_name(target);
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd_ = ::mkstemp(name.data());
    if (fd_ >= 0) temporary_ = name.data();
  }
  if (fd_ < 0) throw InputError(code::unwritable_output, fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
  (void)::fchmod(fd_, mode);  // O_TMPFILE's mode is filtered by the umask, mkstemp's is 0600
  buffer_.reserve(kBuffer);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

void AtomicFile::fail(const char* what) {
  int error = errno;
  throw InputError(code::unwritable_output, fmt::format("cannot write {}: {} ({}); nothing was written there", path_,
                                                        std::strerror(error), what));
}

void AtomicFile::flush_buffer() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  written_ += size;
  if (buffer_.size() + size <= kBuffer) {
    buffer_.insert(buffer_.end(), bytes, bytes + size);
    return;
  }
  flush_buffer();
  if (size < kBuffer) {
    buffer_.insert(buffer_.end(), bytes, bytes + size);
    return;
  }
  // Large pieces (tensor bytes in a mapped file) go to the kernel directly: one copy.
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd_, bytes + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
}

void AtomicFile::copy_from(int fd, uint64_t offset, const void* data, std::size_t size) {
  if (fd < 0 || size < kBuffer) {
    write(data, size);
    return;
  }
  flush_buffer();
  std::size_t done = 0;
  while (done < size) {
    loff_t in = static_cast<loff_t>(offset + done);
    ssize_t n = ::copy_file_range(fd, &in, fd_, nullptr, size - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // another filesystem, an old kernel: copy through memory instead
      written_ += done;
      write(static_cast<const char*>(data) + done, size - done);
      return;
    }
    done += static_cast<std::size_t>(n);
  }
  written_ += size;
}

void AtomicFile::commit() {
  flush_buffer();
  if (::fsync(fd_) != 0) fail("fsync");
  if (temporary_.empty()) {
    // An unnamed file: give it a hidden name (linkat cannot replace the target), then rename.
    std::string proc_path = fmt::format("/proc/self/fd/{}", fd_);
    for (int attempt = 0; temporary_.empty(); ++attempt) {
      std::string name = hidden_name(path_, fmt::format("{}-{}", ::getpid(), attempt));
      if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) temporary_ = name;
      else if (errno != EEXIST || attempt == 100) fail("link");
    }
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("close");
  }
  fd_ = -1;
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail("rename");
  committed_ = true;
  // The rename itself lasts once the directory is on disk.
  int directory = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    (void)::fsync(directory);
    ::close(directory);
  }
}

}  // namespace taxon
