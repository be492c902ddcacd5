// Regexes are RE2 syntax, used as searches. Python-only constructs are
// refused with a message that names them, since users bring Python patterns.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

// The compiled pattern, or null with `error` set.
std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, std::string& error);

}  // namespace taxon
