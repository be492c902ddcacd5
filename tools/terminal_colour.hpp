// Colour on a terminal, as clang and rustc use it: levels, codes and carets in the level's
// colour, line numbers and gutters in blue, group names in eval's report in green.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace taxon::cli {

// `--color auto|always|never` (default auto: on when the stream is a terminal and NO_COLOR is
// unset or empty, https://no-color.org).
CLI::Option* add_colour_option(CLI::App& app);

// The text as it is, or painted when colour is on for `fd` (1 stdout, 2 stderr).
std::string paint_diagnostics(std::string_view text, int fd);  // findings and error messages
std::string paint_report(std::string_view text, int fd);       // `taxon eval`'s text report

}  // namespace taxon::cli
