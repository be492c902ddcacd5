#include "tools/terminal_colour.hpp"

#include <cstdlib>
#include <regex>

#include <unistd.h>

namespace taxon::cli {
namespace {

std::string choice = "auto";  // the one --color of this process

constexpr std::string_view kReset = "\x1b[0m", kBold = "\x1b[1m", kRed = "\x1b[1;31m", kYellow = "\x1b[1;33m",
                           kCyan = "\x1b[1;36m", kBlue = "\x1b[1;34m", kGreen = "\x1b[1;32m";

bool colour_on(int fd) {
  if (choice == "always") return true;
  if (choice == "never") return false;
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour && *no_colour) return false;
  return ::isatty(fd) == 1;
}

std::string_view level_colour(std::string_view level) {
  return level == "warning" ? kYellow : level == "note" ? kCyan : kRed;
}

// Line by line; each pattern is the layout engine/diagnostic.cpp renders.
std::string paint_lines(std::string_view text, bool report) {
  static const std::regex header(R"(^((?:internal )?error|warning|note)(\[T\d+\])?: (.*)$)");
  static const std::regex source(R"(^(\s*\d+ \|)(.*)$)");
  static const std::regex caret(R"(^(\s*\|)(\s*)(\^+)(.*)$)");
  static const std::regex hint(R"(^(\s*=) (hint|help|note):(.*)$)");
  static const std::regex group(R"(^(  )(\S+)(\s+\d[\d,]* tensors?\b.*)$)");
  static const std::regex section(R"(^(selections|groups|overlaps|set rules)\b(.*)$)");
  std::string out;
  std::string_view level_paint = kRed;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::size_t stop = end == std::string_view::npos ? text.size() : end;
    std::string line(text.substr(start, stop - start));
    std::smatch m;
    // A report's name lines (most lines of `--all` at 100k tensors) match nothing: skip the regexes.
    bool plain = line.starts_with("      ") && line.find('|') == std::string::npos && line.find('=') == std::string::npos;
    if (plain) {
      out += line;
    } else if (std::regex_match(line, m, header)) {
      level_paint = level_colour(m[1].str());
      out += std::string(level_paint) + m[1].str() + m[2].str() + std::string(kReset) + std::string(kBold) + ": " + m[3].str() +
             std::string(kReset);
    } else if (std::regex_match(line, m, caret)) {
      out += std::string(kBlue) + m[1].str() + std::string(kReset) + m[2].str() + std::string(level_paint) + m[3].str() +
             std::string(kReset) + m[4].str();
    } else if (std::regex_match(line, m, source)) {
      out += std::string(kBlue) + m[1].str() + std::string(kReset) + m[2].str();
    } else if (std::regex_match(line, m, hint)) {
      out += std::string(kBlue) + m[1].str() + std::string(kReset) + " " + std::string(kBold) + m[2].str() + ":" +
             std::string(kReset) + m[3].str();
    } else if (report && std::regex_match(line, m, section)) {
      out += std::string(kBold) + m[1].str() + std::string(kReset) + m[2].str();
    } else if (report && std::regex_match(line, m, group)) {
      out += m[1].str() + std::string(kGreen) + m[2].str() + std::string(kReset) + m[3].str();
    } else {
      out += line;
    }
    if (end == std::string_view::npos) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace

CLI::Option* add_colour_option(CLI::App& app) {
  return app.add_option("--color", choice, "Colour on a terminal: auto (unless NO_COLOR is set), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

std::string paint_diagnostics(std::string_view text, int fd) {
  return colour_on(fd) ? paint_lines(text, false) : std::string(text);
}

std::string paint_report(std::string_view text, int fd) {
  return colour_on(fd) ? paint_lines(text, true) : std::string(text);
}

}  // namespace taxon::cli
