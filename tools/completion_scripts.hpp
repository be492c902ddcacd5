// Completion scripts for bash, zsh and fish, written from the command line as data (cli_tree.hpp):
// the subcommands, each one's options, the values of options with fixed choices, file names where
// a value is text, stdlib presets where a rule file is expected, and `apply --plan`'s plans, which
// the scripts get at completion time from `taxon __complete plans RULES` (and the presets from
// `taxon __complete presets`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tools/cli_tree.hpp"

namespace taxon::cli {

std::string bash_completion(const Command& program, const std::vector<Command>& commands);
std::string zsh_completion(const Command& program, const std::vector<Command>& commands);
std::string fish_completion(const Command& program, const std::vector<Command>& commands);

// `text` as one word of a POSIX shell (bash, zsh): as is when nothing in it is special, else in
// single quotes.
std::string shell_word(std::string_view text);

}  // namespace taxon::cli
