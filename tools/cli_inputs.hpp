// What the commands read, as they take it on the command line: rules from a file, a stdlib
// preset or `-` (standard input), and models from a dump, a checkpoint or `-`.
#pragma once

#include <optional>
#include <string>
#include <utility>

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

// The rules, and the model when the rules are sound (unset when they are not, as if read one
// after the other: the rules' findings come first). The two do not depend on each other: the
// rules are read on a thread of their own while the model is read on this one (where a thread
// can be had), so that parsing a YAML config (yaml-cpp: ~4 ms for 240 lines) costs no time
// beside a large dump.
std::pair<Rules, std::optional<Model>> read_rules_and_model(const std::string& rules_path, const std::string& lang,
                                                            const RuleParameters& parameters, const std::string& model_path);

// Rules and a model cannot both come from the one standard input.
void check_one_stdin(const std::vector<std::string>& paths);

}  // namespace taxon::cli
