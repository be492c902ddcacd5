#pragma once

#include <CLI/CLI.hpp>

namespace taxon::cli {

// The hidden `taxon __man`: the manual page taxon(1) in roff, made from the definitions that
// print --help (tools/cli_tree.hpp). The build writes it to tools/taxon.1 and installs it.
struct ManPageCommand {
  const CLI::App* program = nullptr;  // the tree the page is made from, complete by run()

  void add_to(CLI::App& app);
  int run() const;
};

}  // namespace taxon::cli
