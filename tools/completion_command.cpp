// `taxon completion SHELL`: a completion script for bash, zsh or fish, made at run time from the
// CLI11 definitions of every subcommand (tools/cli_tree.hpp), so a new option completes without
// editing a list. `taxon __complete` answers what only the files know: a rule file's plans.
#include "tools/completion_command.hpp"

#include <array>
#include <iostream>
#include <string_view>

#include <fmt/format.h>

#include "taxon/taxon.hpp"
#include "tools/cli_common.hpp"
#include "tools/cli_tree.hpp"
#include "tools/completion_scripts.hpp"

namespace taxon::cli {
namespace {

struct Shell {
  std::string_view name;
  std::string (*script)(const Command& program, const std::vector<Command>& commands);
  std::string_view install;  // the command that installs the script for one user, and what else it takes
};

constexpr std::array<Shell, 3> kShells{{
    {"bash", bash_completion, "taxon completion bash > ~/.local/share/bash-completion/completions/taxon"},
    {"zsh", zsh_completion, "taxon completion zsh > ~/.zfunc/_taxon   and fpath=(~/.zfunc $fpath) before compinit"},
    {"fish", fish_completion, "taxon completion fish > ~/.config/fish/completions/taxon.fish"},
}};

std::string footer() {
  std::string out =
      "Prints a completion script for SHELL, made from the same definitions as --help: it completes\n"
      "the commands, their options, the values of options with fixed choices (--format), file names,\n"
      "stdlib presets where rules are expected, and `apply --plan` with the plans of the rule file on\n"
      "the line (the script asks taxon). Generate it again after upgrading taxon; a new shell uses it.\n"
      "\n"
      "Examples (create the directory first where it is missing):\n";
  for (const Shell& shell : kShells) out += fmt::format("  {}\n", shell.install);
  out += "  source <(taxon completion bash)   in ~/.bashrc, without the bash-completion package\n";
  return out + "\nExit status: 0 done; 2 SHELL is none of those.";
}

}  // namespace

void CompletionCommand::add_to(CLI::App& app) {
  program = &app;
  std::vector<std::string> shells;
  for (const Shell& known : kShells) shells.emplace_back(known.name);
  CLI::App* command = app.add_subcommand("completion", "Print a shell completion script (bash, zsh, fish)");
  command->footer(footer());
  command->add_option("SHELL", shell, "The shell to complete for")->required()->check(CLI::IsMember(shells));
  command->callback([this]() { throw CLI::RuntimeError(run()); });

  // Hidden (group ""): the scripts call it, people do not.
  CLI::App* complete = app.add_subcommand("__complete", "Answer a completion script: `plans RULES` or `presets`")->group("");
  // Every word after `__complete` is the request, taken as it is (a file named -x.tx included), so
  // that no request is a usage error: none is left to taxon's own options, even where the other
  // commands fall through to them.
  complete->prefix_command()->fallthrough(false);
  complete->callback([this, complete]() {
    request = complete->remaining();
    throw CLI::RuntimeError(answer());
  });
}

int CompletionCommand::run() const {
  for (const Shell& known : kShells)
    if (known.name == shell) std::cout << known.script(program_command(*program), visible_commands(*program));
  return kDone;
}

int CompletionCommand::answer() const {
  // Whatever goes wrong, the answer is nothing: a message would land in the middle of the line
  // being completed. "-" is refused: it would read the terminal.
  try {
    if (request.size() == 1 && request[0] == "presets") {
      for (const auto& name : stdlib_presets()) std::cout << name << "\n";
    } else if (request.size() == 2 && request[0] == "plans" && request[1] != "-") {
      for (const auto& name : Rules::load(request[1]).plans()) std::cout << name << "\n";
    }
  } catch (...) {
  }
  return kDone;
}

}  // namespace taxon::cli
