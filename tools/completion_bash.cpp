// `taxon completion bash`: one function, _taxon, registered with `complete -F`. It reads the words
// before the cursor (the command, its positionals, options and their values) and offers what the
// word at the cursor can be; the per-command data is generated into two case statements.
#include <fmt/format.h>

#include "tools/completion_scripts.hpp"

namespace taxon::cli {

std::string shell_word(std::string_view text) {
  bool plain = !text.empty() && text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                       "0123456789_-+=./,:@%") == std::string_view::npos;
  if (plain) return std::string(text);
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

namespace {

// The words joined by spaces, each quoted for the shell.
std::string shell_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + shell_word(word);
  return out;
}

// The helpers every completion uses; the command is not involved.
constexpr std::string_view kBashHelpers = R"script(# Offers each WORD that starts with the word being completed ($cur).
_taxon_offer() {
  local word
  for word in "$@"; do
    [[ $word == "$cur"* ]] && COMPREPLY+=("$word")
  done
  return 0
}

# WORD as taxon will get it, for a word seen as typed (COMP_WORDS): quotes and backslashes
# removed, a leading ~/ made $HOME/. Sets the variable named NAME.
_taxon_dequote() {  # WORD NAME
  local word=$1 plain='' quote='' char i
  for ((i = 0; i < ${#word}; i++)); do
    char=${word:i:1}
    if [[ $quote == "'" ]]; then
      [[ $char == "'" ]] && quote='' || plain+=$char
    elif [[ $char == '\' && ( -z $quote || ${word:i+1:1} == [\$\`\"\\] ) ]]; then
      ((++i))
      plain+=${word:i:1}
    elif [[ $char == '"' || ( -z $quote && $char == "'" ) ]]; then
      [[ $quote == "$char" ]] && quote='' || quote=$char
    else
      plain+=$char
    fi
  done
  [[ $word == '~/'* ]] && plain=$HOME/${plain:2}
  printf -v "$2" '%s' "$plain"
}

# Offers file names (bash quotes them, and adds a / to directories).
_taxon_files() {
  local prefix
  _taxon_dequote "$cur" prefix
  compopt -o filenames 2>/dev/null
  mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$prefix")
}

# Offers the stdlib presets and rule files.
_taxon_rules() {
  local -a presets
  mapfile -t presets < <(taxon __complete presets 2>/dev/null </dev/null)
  _taxon_offer "${presets[@]}"
  _taxon_files
}

# Offers the plans of the rule file WORD (as typed): taxon reads the file.
_taxon_plans() {  # WORD
  local rules
  local -a plans
  _taxon_dequote "$1" rules
  [[ -n $rules ]] || return 0
  mapfile -t plans < <(taxon __complete plans "$rules" 2>/dev/null </dev/null)
  _taxon_offer "${plans[@]}"
}

# True when OPTION takes a value, by the current command's $valued.
_taxon_is_valued() {  # OPTION
  local option
  for option in "${valued[@]}"; do
    [[ $1 == "$option" ]] && return 0
  done
  return 1
}
)script";

// Reads the line and offers what the word at the cursor can be; @COMMANDS@ is replaced by the
// commands' names.
constexpr std::string_view kMain = R"script(_taxon() {
  local cur=${COMP_WORDS[COMP_CWORD]} command='' pending='' word i only_positionals=0
  local -a options=() valued=() args=()
  local positionals=0 positionals_repeat=0
  COMPREPLY=()
  _taxon_spec ''
  # The words before the cursor: the command, then its positionals; options and their values are
  # stepped over (`--format json`, and `--format=json`, which bash splits into three words at =).
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ -n $pending ]]; then
      [[ $word == = ]] || pending=''
    elif [[ $word == -- && -n $command ]]; then
      only_positionals=1
    elif [[ $word == -* && $only_positionals == 0 ]]; then
      _taxon_is_valued "$word" && pending=$word
    elif [[ -z $command ]]; then
      command=$word
      _taxon_spec "$command"
    else
      args+=("$word")
    fi
  done
  [[ $cur == = ]] && cur=''  # `--format=`: the value starts after the =
  if [[ -n $pending ]]; then
    _taxon_values "$command" "$pending"
  elif [[ $cur == -* && $only_positionals == 0 ]]; then
    _taxon_offer "${options[@]}"
  elif [[ -z $command ]]; then
    _taxon_offer @COMMANDS@
  elif ((${#args[@]} < positionals)); then
    _taxon_values "$command" "#$((${#args[@]} + 1))"
  elif ((positionals_repeat)); then
    _taxon_values "$command" "#$positionals"
  fi
  return 0
}

complete -F _taxon taxon
)script";

void write_spec(std::string& out, const Command& command) {
  std::vector<std::string> options, valued;
  for (const auto& option : command.options) {
    options.insert(options.end(), option.names.begin(), option.names.end());
    if (option.takes_value()) valued.insert(valued.end(), option.names.begin(), option.names.end());
  }
  bool repeats = !command.positionals.empty() && command.positionals.back().repeats;
  out += fmt::format("    {})\n", shell_word(command.name));
  out += fmt::format("      options=({})\n", shell_words(options));
  out += fmt::format("      valued=({})\n", shell_words(valued));
  out += fmt::format("      positionals={} positionals_repeat={}\n", command.positionals.size(), repeats ? 1 : 0);
  out += "      ;;\n";
}

// The case arm offering the values of `argument` in its slots ("-o", "--output"; "#1" for a
// positional), or "" when there is nothing to offer.
std::string value_arm(const Command& command, const std::vector<std::string>& slots, const Argument& argument) {
  std::string action;
  switch (argument.value) {
    case ValueKind::choices: action = "_taxon_offer " + shell_words(argument.choices); break;
    case ValueKind::file: action = "_taxon_files"; break;
    case ValueKind::rules: action = "_taxon_rules"; break;
    case ValueKind::plan: action = fmt::format("_taxon_plans \"${{args[{}]}}\"", rules_positional(command)); break;
    case ValueKind::none:
    case ValueKind::other: return "";
  }
  std::string patterns;
  for (const auto& slot : slots) patterns += (patterns.empty() ? "" : " | ") + shell_word(command.name + " " + slot);
  return fmt::format("    {}) {} ;;\n", patterns, action);
}

}  // namespace

std::string bash_completion(const Command& program, const std::vector<Command>& commands) {
  std::string out =
      "# bash completion for taxon, generated by `taxon completion bash` from the definitions behind\n"
      "# `taxon --help` (generate it again after upgrading taxon). Install it with\n"
      "#   taxon completion bash > ~/.local/share/bash-completion/completions/taxon\n"
      "# or add `source <(taxon completion bash)` to ~/.bashrc.\n\n";
  out += kBashHelpers;

  out += "\n# Sets the command's options, those of them that take a value, and how many positionals it\n"
         "# takes (the last one repeating when positionals_repeat is 1); '' is taxon before a command.\n"
         "_taxon_spec() {  # COMMAND\n"
         "  options=() valued=() positionals=0 positionals_repeat=0\n"
         "  case $1 in\n";
  write_spec(out, program);
  for (const auto& command : commands) write_spec(out, command);
  out += "  esac\n}\n";

  out += "\n# Offers the values of SLOT of COMMAND: an option's value (SLOT is its name) or positional N\n"
         "# (SLOT is #N); COMMAND is '' before one. $args holds the positionals on the line.\n"
         "_taxon_values() {  # COMMAND SLOT\n  case \"$1 $2\" in\n";
  for (const auto& option : program.options) out += value_arm(program, option.names, option);
  std::vector<std::string> names;
  for (const auto& command : commands) {
    names.push_back(command.name);
    for (const auto& option : command.options) out += value_arm(command, option.names, option);
    for (std::size_t i = 0; i < command.positionals.size(); ++i)
      out += value_arm(command, {fmt::format("#{}", i + 1)}, command.positionals[i]);
  }
  out += "  esac\n}\n\n";
  std::string main_function(kMain);
  main_function.replace(main_function.find("@COMMANDS@"), 10, shell_words(names));
  return out + main_function;
}

}  // namespace taxon::cli
