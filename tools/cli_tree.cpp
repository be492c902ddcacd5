#include "tools/cli_tree.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace taxon::cli {
namespace {

// The positionals that name rules: RULES (eval, lint, explain) and PLAN (apply). Those commands
// read them with Rules::load, which takes a stdlib preset's name as well as a file.
constexpr std::array<std::string_view, 2> kRulePositionals{"RULES", "PLAN"};

// The option that picks one plan of the command's rule file.
constexpr std::string_view kPlanOption = "--plan";

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// CLI11 (2.x) shows an option's validators in its type name, each after a ':', and CLI::IsMember
// shows its set as "{text,json}": "TEXT:{text,json}". A const Option offers its validators no
// other way, so the choices are read back from there.
std::vector<std::string> choices_of(const CLI::Option& option) {
  std::vector<std::string> parts = split(option.get_type_name(), ':');
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') return split(part.substr(1, part.size() - 2), ',');
  }
  return {};
}

Argument read_argument(const CLI::Option& option, bool has_rules_positional) {
  Argument argument;
  argument.positional = !option.nonpositional();
  if (argument.positional) {
    argument.names.push_back(option.get_name(true));
  } else {
    for (const std::string& name : option.get_snames()) argument.names.push_back("-" + name);
    for (const std::string& name : option.get_lnames()) argument.names.push_back("--" + name);
  }
  argument.description = option.get_description();
  argument.type_name = option.get_type_name();
  argument.default_value = option.get_default_str();
  argument.required = option.get_required();
  argument.repeats = option.get_items_expected_max() > 1;
  argument.choices = choices_of(option);

  const std::string& name = argument.names.front();
  if (option.get_items_expected_max() == 0) {
    argument.value = ValueKind::none;
  } else if (!argument.choices.empty()) {
    argument.value = ValueKind::choices;
  } else if (argument.positional && std::find(kRulePositionals.begin(), kRulePositionals.end(), name) != kRulePositionals.end()) {
    argument.value = ValueKind::rules;
  } else if (has_rules_positional && std::find(argument.names.begin(), argument.names.end(), kPlanOption) != argument.names.end()) {
    argument.value = ValueKind::plan;
  } else if (argument.type_name == "TEXT") {
    argument.value = ValueKind::file;
  } else {
    argument.value = ValueKind::other;
  }
  return argument;
}

Command read_command(const CLI::App& app, std::string name) {
  Command command;
  command.name = std::move(name);
  command.description = app.get_description();
  command.footer = app.get_footer();
  // Hidden options (group "") are left out, as --help leaves them out.
  std::vector<const CLI::Option*> options = app.get_options([](const CLI::Option* option) { return !option->get_group().empty(); });
  bool has_rules_positional = std::any_of(options.begin(), options.end(), [](const CLI::Option* option) {
    return !option->nonpositional() &&
           std::find(kRulePositionals.begin(), kRulePositionals.end(), option->get_name(true)) != kRulePositionals.end();
  });
  for (const CLI::Option* option : options) {
    Argument argument = read_argument(*option, has_rules_positional);
    argument.exits = option == app.get_help_ptr() || option == app.get_help_all_ptr() || option == app.get_version_ptr();
    (argument.positional ? command.positionals : command.options).push_back(std::move(argument));
  }
  return command;
}

}  // namespace

Command program_command(const CLI::App& app) { return read_command(app, ""); }

Command own_command(const CLI::App& subcommand) { return read_command(subcommand, subcommand.get_name()); }

std::vector<Command> visible_commands(const CLI::App& app) {
  Command program = program_command(app);
  std::vector<Command> commands;
  for (const CLI::App* subcommand : app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); })) {
    Command command = own_command(*subcommand);
    if (subcommand->get_fallthrough()) {
      for (Argument option : program.options) {
        if (option.exits) continue;  // the command's own --help answers instead
        option.inherited = true;
        command.options.push_back(std::move(option));
      }
    }
    commands.push_back(std::move(command));
  }
  return commands;
}

int rules_positional(const Command& command) {
  for (std::size_t i = 0; i < command.positionals.size(); ++i)
    if (command.positionals[i].value == ValueKind::rules) return static_cast<int>(i);
  return -1;
}

}  // namespace taxon::cli
