// What the commands read, as they take it on the command line: rules from a file, a stdlib
// preset or `-` (standard input), and models from a dump, a checkpoint or `-`.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "taxon/taxon.hpp"

namespace taxon::cli {

// `--lang tx|yaml`: the language of rules read from standard input (by default, told from the text).
CLI::Option* add_lang_option(CLI::App* command, std::string& lang);

// RULES: "-" reads standard input, in `lang`'s language or the one the text shows.
Rules read_rules(const std::string& path, const std::string& lang, const RuleParameters& parameters);

// --dump / --target / --reference: a model dump, a checkpoint (told apart by content), or "-":
// a dump from standard input.
Model read_model(const std::string& path);

// Rules and a model cannot both come from the one standard input.
void check_one_stdin(const std::vector<std::string>& paths);

}  // namespace taxon::cli
