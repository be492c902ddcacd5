// Regexes are RE2 syntax, used as searches. Python-only constructs are
// refused with a message that names them, since users bring Python patterns.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace taxon {

struct RegexProblem {
  std::string_view code;  // code::invalid_regex or code::python_only_regex
  std::string message;
  std::string hint;
};

// nullopt when RE2 accepts the pattern.
std::optional<RegexProblem> check_regex(std::string_view pattern);

// The named capture groups of a valid pattern, in order of appearance.
std::vector<std::string> regex_capture_names(std::string_view pattern);

// The compiled pattern, or null with `error` set.
std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, std::string& error);

}  // namespace taxon
