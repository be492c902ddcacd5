#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace taxon::cli {

struct DumpCommand {
  std::string checkpoint;
  std::string source;

  void add_to(CLI::App& app);
  int run() const;
};

}  // namespace taxon::cli
