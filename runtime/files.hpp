// Whole-file reads with errors that say which file and why.
#pragma once

#include <string>
#include <string_view>

#include "engine/source.hpp"

namespace taxon {

// Throws InputError naming the path and the system's reason.
std::string read_file(const std::string& path);

// Replaces `path` with `content` atomically: a temporary file beside it,
// fsync, rename. On failure the old file (if any) is untouched and no
// temporary is left. Keeps an existing file's permissions.
void write_file_atomic(const std::string& path, std::string_view content);

// A rule file, ready for a front end. "-" reads standard input.
SourceRef load_source(const std::string& path);

}  // namespace taxon
