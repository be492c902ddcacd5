#include "runtime/atomic_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/input_error.hpp"

namespace taxon {
namespace fs = std::filesystem;
namespace {
constexpr std::size_t kBuffer = 1 << 20;

// ".model.safetensors.taxon-XXXXXX" beside the target: a name nobody else uses.
std::string hidden_name(const std::filesystem::path& target, std::string_view suffix = "XXXXXX") {
  std::filesystem::path directory = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  return (directory / fmt::format(".{}.taxon-{}", target.filename().string(), suffix)).string();
}

// A rename lasts once its directory is on disk.
void sync_directory(const std::string& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
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

void AtomicFile::stage() {
  if (staged_) return;
  flush_buffer();
  if (::fsync(fd_) != 0) fail("fsync");
  staged_ = true;
}

void AtomicFile::name_staged() {
  if (fd_ < 0) return;
  if (temporary_.empty()) {
    // An unnamed file: give it a hidden name (linkat cannot replace the target), then rename.
    std::string proc_path = fmt::format("/proc/self/fd/{}", fd_);
    for (int attempt = 0; temporary_.empty(); ++attempt) {
      std::string name = hidden_name(path_, fmt::format("{}-{}", ::getpid(), attempt));
      if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) temporary_ = name;
      else if (errno != EEXIST || attempt == 100) fail("link");
    }
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close");
}

void AtomicFile::publish() {
  stage();
  name_staged();
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail("rename");
  committed_ = true;
  sync_directory(directory_);
}

void AtomicFile::commit() {
  stage();
  publish();
}

AtomicFileSet::~AtomicFileSet() {
  if (committed_) return;
  for (const auto& member : members_)
    if (!member.file) ::unlink(member.written.c_str());
  // AtomicFile members remove their own temporaries.
}

void AtomicFileSet::stage_previous() {
  if (members_.empty() || !members_.back().file) return;
  members_.back().file->stage();
  // A staged member holds a descriptor until it is named; past the most recent ones, name the oldest.
  constexpr std::size_t kKeepOpen = 128;
  ++open_staged_;
  while (open_staged_ > kKeepOpen) {
    while (!members_[oldest_open_].file || members_[oldest_open_].file->fd_ < 0) ++oldest_open_;
    members_[oldest_open_++].file->name_staged();
    --open_staged_;
  }
}

AtomicFile& AtomicFileSet::add(std::string path) {
  stage_previous();
  auto file = std::make_unique<AtomicFile>(path);
  AtomicFile& added = *file;
  members_.push_back({std::move(file), {}, std::move(path)});
  return added;
}

void AtomicFileSet::adopt(std::string written, std::string path) {
  stage_previous();
  members_.push_back({nullptr, std::move(written), std::move(path)});
}

void AtomicFileSet::commit() {
  if (committed_ || members_.empty()) {
    committed_ = true;
    return;
  }
  const std::size_t n = members_.size(), seal = n - 1;
  auto set_error = [&](const std::string& path, int error, const char* what) {
    return InputError(code::unwritable_output,
                      fmt::format("cannot write {}: {} ({}); none of the {} files was written", path, std::strerror(error),
                                  what, n));
  };
  // Everything that can fail without touching the targets first.
  for (const auto& member : members_) {
    struct stat existing {};
    if (::lstat(member.path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode))
      throw set_error(member.path, EISDIR, "a directory is in the way");
  }
  for (auto& member : members_)
    if (member.file) {
      member.file->stage();
      member.file->name_staged();
    }
  // Then the renames, undone on any failure.
  std::vector<std::string> aside(n);
  std::vector<bool> placed(n, false);
  auto move_aside = [&](std::size_t i) {
    const std::string& path = members_[i].path;
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) != 0) return;
    for (int attempt = 0; aside[i].empty(); ++attempt) {
      std::string name = hidden_name(path, fmt::format("old-{}-{}", ::getpid(), attempt));
      struct stat taken {};
      if (::lstat(name.c_str(), &taken) == 0) {
        if (attempt == 100) throw set_error(path, EEXIST, "moving the earlier file aside");
        continue;
      }
      if (::rename(path.c_str(), name.c_str()) != 0) throw set_error(path, errno, "moving the earlier file aside");
      aside[i] = name;
    }
  };
  auto place = [&](std::size_t i) {
    if (i == fail_at_) throw set_error(members_[i].path, EIO, "rename");
    if (::rename(members_[i].temporary().c_str(), members_[i].path.c_str()) != 0)
      throw set_error(members_[i].path, errno, "rename");
    placed[i] = true;
  };
  try {
    move_aside(seal);
    for (std::size_t i = 0; i < seal; ++i) {
      move_aside(i);
      place(i);
    }
    place(seal);
  } catch (...) {
    for (std::size_t i = n; i-- > 0;) {
      if (placed[i]) ::unlink(members_[i].path.c_str());
      if (!aside[i].empty()) ::rename(aside[i].c_str(), members_[i].path.c_str());
    }
    throw;
  }
  committed_ = true;
  for (auto& member : members_)
    if (member.file) member.file->committed_ = true;
  std::vector<std::string> directories;
  for (const auto& member : members_) {
    fs::path target(member.path);
    std::string directory = target.has_parent_path() ? target.parent_path().string() : std::string(".");
    if (std::find(directories.begin(), directories.end(), directory) == directories.end()) directories.push_back(directory);
  }
  for (const auto& directory : directories) sync_directory(directory);
  for (const auto& name : aside)
    if (!name.empty()) ::unlink(name.c_str());
}

}  // namespace taxon
