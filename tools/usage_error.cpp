#include "tools/usage_error.hpp"

#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"
#include "tools/cli_tree.hpp"

namespace taxon::cli {
namespace {

const CLI::App* command_named(const CLI::App& app, std::string_view name) {
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    if (command->get_name() == name) return command;
  return nullptr;
}

// Every spelling of the command's options: --format, -o, --help, ...
void add_option_names(const Command& command, std::vector<std::string>& names) {
  for (const Argument& option : command.options) names.insert(names.end(), option.names.begin(), option.names.end());
}

bool contains(const std::vector<std::string>& list, std::string_view word) {
  for (const auto& item : list)
    if (item == word) return true;
  return false;
}

std::string with_suggestion(std::string_view word, const std::vector<std::string>& candidates, std::string rest) {
  std::string closest = closest_match(word, candidates);
  return closest.empty() ? rest : fmt::format("did you mean '{}'? {}", closest, rest);
}

}  // namespace

UsageError describe_usage_error(const CLI::App& app, const CLI::ParseError& error, int argc, char** argv) {
  std::string general_help = "`taxon --help` lists the commands, with examples";
  // The command is the first word; before it only the root's own flags (--help, --version) may come.
  int first = 1;
  while (first < argc && std::string_view(argv[first]).starts_with("-")) ++first;
  if (first >= argc) return {error.what(), general_help};
  std::string_view word = argv[first];
  const CLI::App* command = command_named(app, word);
  if (!command) {
    std::vector<std::string> names;
    for (const Command& visible : visible_commands(app)) names.push_back(visible.name);
    return {fmt::format("'{}' is not a taxon command", word), with_suggestion(word, names, general_help)};
  }

  std::string command_help = fmt::format("`taxon {} --help` lists the options, with examples", command->get_name());
  std::vector<std::string> known;
  add_option_names(own_command(*command), known);
  add_option_names(program_command(app), known);  // the root's (--color) may follow
  for (int i = first + 1; i < argc; ++i) {
    std::string_view token = argv[i];
    if (token == "--") break;  // what follows is positional
    if (!token.starts_with("-") || token == "-") continue;
    std::string_view name = token.substr(0, token.find('='));
    if (name.size() > 2 && !name.starts_with("--")) name = name.substr(0, 2);  // -ofile: the option -o, its value
    if (contains(known, name)) continue;
    // A one-letter option is too short to guess from.
    return {fmt::format("`taxon {}` has no option '{}'", command->get_name(), name),
            name.starts_with("--") ? with_suggestion(name, known, command_help) : command_help};
  }
  return {error.what(), command_help};
}

}  // namespace taxon::cli
