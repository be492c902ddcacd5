// What a usage error says: CLI11's words, or better ones where taxon can tell what was meant
// (an unknown command or option close to a real one: "did you mean").
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace taxon::cli {

struct UsageError {
  std::string message;
  std::string hint;
};

// `app`: the parsed (or half-parsed) root command; `argv` as main() got it.
UsageError describe_usage_error(const CLI::App& app, const CLI::ParseError& error, int argc, char** argv);

}  // namespace taxon::cli
