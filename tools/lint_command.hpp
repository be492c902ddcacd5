#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace taxon::cli {

struct LintCommand {
  std::vector<std::string> rules;
  std::vector<std::string> dumps;
  std::string reference;
  std::string lang;  // --lang: of rules read from standard input
  std::vector<std::pair<std::string, std::string>> parameters;  // --param NAME=VALUE
  std::string format = "text";
  std::size_t max_errors = 5;

  void add_to(CLI::App& app);
  int run() const;
};

struct ExplainCommand {
  std::string rules;
  std::string dump;
  std::string tensor;
  std::string reference;
  std::string lang;  // --lang: of rules read from standard input
  std::vector<std::pair<std::string, std::string>> parameters;  // --param NAME=VALUE
  std::string format = "text";
  std::size_t max_errors = 5;

  void add_to(CLI::App& app);
  int run() const;
};

}  // namespace taxon::cli
