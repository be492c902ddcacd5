#include "runtime/files.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "runtime/input_error.hpp"

namespace taxon {

std::string read_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw InputError(code::unreadable_file, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  if (S_ISDIR(info.st_mode)) throw InputError(code::unreadable_file, fmt::format("cannot read {}: it is a directory, not a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(code::unreadable_file, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw InputError(code::unreadable_file, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  return std::move(buffer).str();
}

void write_file_atomic(const std::string& path, std::string_view content) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string hidden_name(1, '.');  // built up, not `"." + name`: GCC 12 warns falsely (-Wrestrict)
  hidden_name += target.filename().string();
  hidden_name += ".taxon-XXXXXX";
  std::string pattern = (directory / hidden_name).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) throw InputError(code::unwritable_output, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  std::string temporary(name.data());
  auto fail = [&](const char* what) {
    int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    throw InputError(code::unwritable_output, fmt::format("cannot write {}: {} ({})", path, std::strerror(error), what));
  };
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 && ::fchmod(fd, existing.st_mode & 07777) != 0) fail("chmod");
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    throw InputError(code::unwritable_output, fmt::format("cannot write {}: {}", path, std::strerror(error)));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    throw InputError(code::unwritable_output, fmt::format("cannot write {}: {}", path, std::strerror(error)));
  }
}

SourceRef load_source(const std::string& path) {
  if (path == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return std::make_shared<SourceFile>(SourceFile{"<stdin>", std::move(text)});
  }
  return std::make_shared<SourceFile>(SourceFile{path, read_file(path)});
}

}  // namespace taxon
