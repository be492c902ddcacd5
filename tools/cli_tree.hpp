// The command line as data: the visible subcommands of the `taxon` CLI::App with their options and
// positionals, read from the same CLI11 definitions that print --help. Shell completion and the
// man page are generated from it, so an option added to a command appears in both unedited.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace taxon::cli {

// What an option's value or a positional is, for completion.
enum class ValueKind {
  none,     // a flag: takes no value
  choices,  // one of `choices` (CLI::IsMember)
  file,     // a path (any text value: CLI11 types them all TEXT)
  rules,    // a rule file or a stdlib preset (the RULES and PLAN positionals)
  plan,     // a plan of the command's rule file (`apply --plan`)
  other,    // a number or a NAME=VALUE: nothing to offer
};

struct Argument {
  std::vector<std::string> names;  // "-o", "--output"; a positional's name alone: "RULES"
  std::string description;
  std::string type_name;           // as --help shows it: "TEXT", "UINT", "NAME=VALUE"
  std::string default_value;       // "" when none is shown
  bool positional = false;
  bool required = false;
  bool repeats = false;            // may be given more than once, or takes several values
  bool exits = false;              // --help, --version: prints and exits, whatever else is given
  bool inherited = false;          // taxon's own option, taken after the command too (CLI11's fallthrough)
  ValueKind value = ValueKind::none;
  std::vector<std::string> choices;  // for ValueKind::choices

  bool takes_value() const { return value != ValueKind::none; }
};

struct Command {
  std::string name;         // "eval"; "" for the program itself (taxon before a command)
  std::string description;  // the one line --help shows
  std::string footer;       // what follows the options in --help: notes, examples, exit status
  std::vector<Argument> options;      // in definition order, --help first; inherited ones last
  std::vector<Argument> positionals;  // in the order they are taken
};

// `taxon` itself, named "": its description, footer and own options (--help, --version), which
// come before the command.
Command program_command(const CLI::App& app);

// One subcommand, hidden or not, with its own options and positionals only (none inherited).
Command own_command(const CLI::App& subcommand);

// Every subcommand --help lists, in its order; hidden ones (group "") are left out. A command that
// falls through to taxon's own options also lists those, but --help and --version, as inherited.
std::vector<Command> visible_commands(const CLI::App& app);

// The position (0-based) of the command's rule-file positional, or -1 without one.
int rules_positional(const Command& command);

}  // namespace taxon::cli
