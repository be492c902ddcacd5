#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/cli_common.hpp"

namespace taxon::cli {

struct EvalCommand {
  std::string rules;
  std::string dump;
  std::string reference;
  std::string lang;  // --lang: of rules read from standard input
  std::vector<std::pair<std::string, std::string>> parameters;  // --param NAME=VALUE
  std::string format = "text";
  bool list_all = false;
  bool explain_plan = false;
  std::size_t max_errors = 5;

  void add_to(CLI::App& app);
  int run() const;
};

}  // namespace taxon::cli
