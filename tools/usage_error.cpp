#include "tools/usage_error.hpp"

#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"

namespace taxon::cli {
namespace {

const CLI::App* command_named(const CLI::App& app, std::string_view name) {
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    if (command->get_name() == name) return command;
  return nullptr;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    if (!command->get_group().empty()) names.push_back(command->get_name());  // hidden ones have no group
  return names;
}

// Every spelling the command accepts: --format, -o, --help, ...
std::vector<std::string> option_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options()) {
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    for (const auto& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
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
  if (!command)
    return {fmt::format("'{}' is not a taxon command", word), with_suggestion(word, command_names(app), general_help)};

  std::string command_help = fmt::format("`taxon {} --help` lists the options, with examples", command->get_name());
  std::vector<std::string> known = option_names(*command);
  for (const auto& name : option_names(app)) known.push_back(name);  // the root's (--color) may follow
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
