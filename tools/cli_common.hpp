// What every subcommand shares: exit codes and output formats. The commands reach taxon through
// its public headers (include/taxon/) only.
#pragma once

#include <cstddef>

namespace taxon::cli {

// docs/cli.md: scripts rely on these.
enum ExitCode : int {
  kDone = 0,       // done; nothing at error level
  kAnswerNo = 1,   // done, and the answer is "no" (e.g. an error-level rule diagnostic stands)
  kCouldNot = 2,   // could not do the job: usage, unreadable or invalid input, unwritable output
  kInternalError = 3,  // a bug in taxon: a check of its own invariants failed
};

enum class Format { text, json };

struct CommonOptions {
  Format format = Format::text;
  std::size_t max_errors = 5;
};

}  // namespace taxon::cli
