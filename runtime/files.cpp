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

#include "runtime/atomic_file.hpp"
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
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

SourceRef load_source(const std::string& path) {
  if (path == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return std::make_shared<SourceFile>(SourceFile{"<stdin>", std::move(text)});
  }
  return std::make_shared<SourceFile>(SourceFile{path, read_file(path)});
}

}  // namespace taxon
