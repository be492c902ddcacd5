#include "engine/regex.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>
#include <re2/re2.h>

#include "engine/diagnostic.hpp"

namespace taxon {

std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);
  auto compiled = std::make_shared<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!compiled->ok()) {
    error = compiled->error();
    return nullptr;
  }
  return compiled;
}

std::vector<std::string> regex_capture_names(std::string_view pattern) {
  std::string error;
  auto compiled = compile_regex(pattern, error);
  if (!compiled) return {};
  std::vector<std::pair<int, std::string>> by_index;
  for (const auto& [name, index] : compiled->NamedCapturingGroups()) by_index.emplace_back(index, name);
  std::sort(by_index.begin(), by_index.end());
  std::vector<std::string> names;
  for (auto& [index, name] : by_index) names.push_back(std::move(name));
  return names;
}

namespace {

// Python constructs RE2 does not have, and what to write instead.
struct PythonConstruct {
  std::string_view marker;
  std::string_view name;
  std::string_view instead;
};

constexpr std::array<PythonConstruct, 5> kPythonOnly{{
    {"(?<=", "lookbehind `(?<=...)`", "match the context too, or use `name starts`/`ends` rules with `and`"},
    {"(?<!", "negative lookbehind `(?<!...)`", "combine a positive rule with `not` instead"},
    {"(?=", "lookahead `(?=...)`", "match the context too, or combine rules with `and`"},
    {"(?!", "negative lookahead `(?!...)`", "combine a positive rule with `not` instead"},
    {"(?<", "named group `(?<name>...)`", "write it as `(?P<name>...)`"},
}};

}  // namespace

std::optional<RegexProblem> check_regex(std::string_view pattern) {
  std::string error;
  if (compile_regex(pattern, error)) return std::nullopt;
  for (const auto& construct : kPythonOnly)
    if (pattern.find(construct.marker) != std::string_view::npos)
      return RegexProblem{code::python_only_regex,
                          fmt::format("regex /{}/ uses a {}, which Python has and RE2 does not", pattern, construct.name),
                          std::string(construct.instead)};
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (pattern[i + 1] >= '1' && pattern[i + 1] <= '9')
        return RegexProblem{code::python_only_regex,
                            fmt::format("regex /{}/ uses a backreference `\\{}`, which Python has and RE2 does not",
                                        pattern, pattern[i + 1]),
                            "RE2 matches in linear time and has no backreferences; spell the repeated text out"};
      ++i;  // skip the escaped character
    }
  }
  return RegexProblem{code::invalid_regex, fmt::format("invalid regex /{}/: {}", pattern, error),
                      "regexes are RE2 syntax and search anywhere in the name; anchor them with ^ and $"};
}

}  // namespace taxon
