#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace taxon::cli {

// `taxon completion SHELL` prints a completion script; the hidden `taxon __complete` answers the
// scripts at completion time (`plans RULES`: the plan names the rule file declares; `presets`:
// the stdlib presets), one per line.
struct CompletionCommand {
  std::string shell;
  std::vector<std::string> request;  // the words after `__complete`
  const CLI::App* program = nullptr;  // the tree the scripts are made from, complete by run()

  void add_to(CLI::App& app);
  int run() const;     // `completion`
  int answer() const;  // `__complete`
};

}  // namespace taxon::cli
