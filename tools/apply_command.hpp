#pragma once

#include <string>
#include <utility>
#include <vector>
#include <vector>

#include <CLI/CLI.hpp>

namespace taxon::cli {

struct ApplyCommand {
  std::string plan_file;
  std::vector<std::pair<std::string, std::string>> parameters;  // --param NAME=VALUE
  std::vector<std::string> checkpoints;
  std::string plan_name;
  std::string target;
  std::string lang;  // --lang: of a plan read from standard input
  std::string output;
  std::string source;
  std::string format = "text";
  bool dry_run = false;
  bool force = false;
  bool list_all = false;
  bool state_dict_only = false;
  bool keep_objects = false;
  std::string max_shard_size;  // "" = one file
  std::string shard;           // "I/N": one part of a sharded output
  bool join = false;
  std::size_t jobs = 1;

  void add_to(CLI::App& app);
  int run() const;
};

}  // namespace taxon::cli
