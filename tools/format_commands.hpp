// `taxon fmt` and `taxon convert`: writing rule files.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace taxon::cli {

struct FmtCommand {
  std::vector<std::string> files;
  bool check = false;
  std::size_t max_errors = 5;

  void add_to(CLI::App& app);
  int run() const;
};

struct ConvertCommand {
  std::string input;
  std::string output;
  bool force = false;
  std::size_t max_errors = 5;

  void add_to(CLI::App& app);
  int run() const;
};

}  // namespace taxon::cli
