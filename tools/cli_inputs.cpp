#include "tools/cli_inputs.hpp"

#include <exception>
#include <iostream>
#include <sstream>
#include <string_view>
#include <system_error>
#include <thread>

namespace taxon::cli {
namespace {

std::string read_stdin() {
  std::ostringstream text;
  text << std::cin.rdbuf();
  return std::move(text).str();
}

// The taxon language starts its statements with a keyword at the start of a line; YAML (linnaeus,
// anemoi) with `KEY:`. The first line that is neither blank nor a comment tells them apart.
RulesLanguage guess_language(std::string_view text) {
  // grammar/tx_grammar.hpp's statement_keyword.
  static constexpr std::string_view kKeywords[] = {"let",    "select", "group", "defaults", "exclude", "freeze", "plan",
                                                   "import", "mode",   "match", "stages",   "set",     "param"};
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? text.size() : end + 1;
    std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#' || line.substr(first).starts_with("//")) continue;
    for (std::string_view keyword : kKeywords)
      if (line.starts_with(keyword) && (line.size() == keyword.size() || std::string_view(" \t{:").find(line[keyword.size()]) != std::string_view::npos))
        return RulesLanguage::tx;
    return RulesLanguage::yaml;
  }
  return RulesLanguage::tx;
}

}  // namespace

CLI::Option* add_lang_option(CLI::App* command, std::string& lang) {
  return command->add_option("--lang", lang, "Language of rules read from standard input (RULES is -): tx or yaml; by default told from the text")
      ->check(CLI::IsMember({"tx", "yaml"}));
}

Rules read_rules(const std::string& path, const std::string& lang, const RuleParameters& parameters) {
  if (path != "-") return Rules::load(path, parameters);
  std::string text = read_stdin();
  RulesLanguage language = lang == "yaml" ? RulesLanguage::yaml : lang == "tx" ? RulesLanguage::tx : guess_language(text);
  return Rules::parse(text, language, "<stdin>", parameters);
}

Model read_model(const std::string& path) {
  if (path == "-") return Model::parse_dump(read_stdin(), "<stdin>");
  return Model::from_file(path);
}

std::pair<Rules, std::optional<Model>> read_rules_and_model(const std::string& rules_path, const std::string& lang,
                                                            const RuleParameters& parameters, const std::string& model_path) {
  std::optional<Rules> rules;
  std::exception_ptr rules_error;
  auto read = [&] {
    try {
      rules.emplace(read_rules(rules_path, lang, parameters));
    } catch (...) {
      rules_error = std::current_exception();
    }
  };
  std::thread reader;
  try {
    reader = std::thread(read);
  } catch (const std::system_error&) {  // no thread to be had (a process at its limit): one after the other
    read();
  }
  std::optional<Model> model;
  std::exception_ptr model_error;
  // Read one after the other, the rules are known by now: the model is read only for sound ones.
  if (reader.joinable() || (!rules_error && rules->ok())) {
    try {
      model.emplace(read_model(model_path));
    } catch (...) {
      model_error = std::current_exception();
    }
  }
  if (reader.joinable()) reader.join();
  if (rules_error) std::rethrow_exception(rules_error);
  if (!rules->ok()) return {std::move(*rules), std::nullopt};
  if (model_error) std::rethrow_exception(model_error);
  return {std::move(*rules), std::move(model)};
}

void check_one_stdin(const std::vector<std::string>& paths) {
  int from_stdin = 0;
  for (const auto& path : paths) from_stdin += path == "-";
  if (from_stdin > 1)
    throw CLI::ValidationError("standard input can be read once: give the rules or the model as a file");
}

}  // namespace taxon::cli
