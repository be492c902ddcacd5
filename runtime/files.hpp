// Whole-file reads with errors that say which file and why.
#pragma once

#include <string>

#include "engine/source.hpp"

namespace taxon {

// Throws InputError naming the path and the system's reason.
std::string read_file(const std::string& path);

// A rule file, ready for a front end. "-" reads standard input.
SourceRef load_source(const std::string& path);

}  // namespace taxon
