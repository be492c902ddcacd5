// What every subcommand shares: exit codes and output formats. The commands reach taxon through
// its public headers (include/taxon/) only.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

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

// `--param NAME=VALUE`, repeatable: the rule file's parameters (`param NAME = DEFAULT`).
inline CLI::Option* add_param_option(CLI::App* command, std::vector<std::pair<std::string, std::string>>& parameters) {
  return command
      ->add_option_function<std::vector<std::string>>(
          "--param",
          [&parameters](const std::vector<std::string>& given) {
            for (const auto& entry : given) {
              std::size_t equals = entry.find('=');
              if (equals == std::string::npos || equals == 0)
                throw CLI::ValidationError("--param", "'" + entry + "' is not NAME=VALUE (e.g. --param decay=0.75)");
              parameters.emplace_back(entry.substr(0, equals), entry.substr(equals + 1));
            }
          },
          "Set a parameter the rule file declares with `param NAME = DEFAULT`, e.g. --param decay=0.75 "
          "(repeatable)")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
}

}  // namespace taxon::cli
