#include <doctest/doctest.h>

#include "engine/diagnostic.hpp"
#include "engine/regex.hpp"

using namespace taxon;

TEST_CASE("RE2 syntax is accepted - including Python's (?P<name>...) groups") {
  CHECK_FALSE(check_regex(R"(^blocks\.(?P<i>\d+)\.)").has_value());
  CHECK_FALSE(check_regex("a|b").has_value());
}

TEST_CASE("Python-only constructs are named") {
  auto lookahead = check_regex(R"(head(?!\.fc))");
  REQUIRE(lookahead);
  CHECK(lookahead->code == code::python_only_regex);
  CHECK(lookahead->message.find("negative lookahead") != std::string::npos);

  auto backreference = check_regex(R"((\w+)\.\1)");
  REQUIRE(backreference);
  CHECK(backreference->code == code::python_only_regex);
  CHECK(backreference->message.find("backreference `\\1`") != std::string::npos);

  auto named = check_regex(R"((?<idx>\d+))");
  REQUIRE(named);
  CHECK(named->hint.find("(?P<name>...)") != std::string::npos);
}

TEST_CASE("other invalid patterns carry RE2's message") {
  auto problem = check_regex("blocks.(");
  REQUIRE(problem);
  CHECK(problem->code == code::invalid_regex);
  CHECK(problem->message == "invalid regex /blocks.(/: missing ): blocks.(");
}
