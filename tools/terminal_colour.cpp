#include "tools/terminal_colour.hpp"

#include <cstdlib>
#include <string>

#include <re2/re2.h>
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

// Bytes, not UTF-8: a line that echoes a name or a message in any encoding is still painted.
RE2::Options byte_patterns() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  return options;
}

// Line by line; each pattern is the layout engine/diagnostic.cpp renders.
std::string paint_lines(std::string_view text, bool report) {
  static const RE2 header(R"(((?:internal )?error|warning|note)(\[T\d+\])?: (.*))", byte_patterns());
  static const RE2 source(R"((\s*\d+ \|)(.*))", byte_patterns());
  static const RE2 caret(R"((\s*\|)(\s*)(\^+)(.*))", byte_patterns());
  static const RE2 hint(R"((\s*=) (hint|help|note):(.*))", byte_patterns());
  static const RE2 group(R"((  )(\S+)(\s+\d[\d,]* tensors?\b.*))", byte_patterns());
  static const RE2 section(R"((selections|groups|overlaps|set rules)\b(.*))", byte_patterns());
  std::string out;
  std::string_view level_paint = kRed;
  std::size_t start = 0;
  std::string a, b, c, d;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::size_t stop = end == std::string_view::npos ? text.size() : end;
    re2::StringPiece line(text.data() + start, stop - start);
    std::string_view view(line.data(), line.size());
    // A report's name lines (most lines of `--all` at 100k tensors) match nothing: skip the regexes.
    bool plain = view.starts_with("      ") && view.find('|') == std::string_view::npos &&
                 view.find('=') == std::string_view::npos;
    if (plain) {
      out += view;
    } else if (RE2::FullMatch(line, header, &a, &b, &c)) {
      level_paint = level_colour(a);
      out += std::string(level_paint) + a + b + std::string(kReset) + std::string(kBold) + ": " + c + std::string(kReset);
    } else if (RE2::FullMatch(line, caret, &a, &b, &c, &d)) {
      out += std::string(kBlue) + a + std::string(kReset) + b + std::string(level_paint) + c + std::string(kReset) + d;
    } else if (RE2::FullMatch(line, source, &a, &b)) {
      out += std::string(kBlue) + a + std::string(kReset) + b;
    } else if (RE2::FullMatch(line, hint, &a, &b, &c)) {
      out += std::string(kBlue) + a + std::string(kReset) + " " + std::string(kBold) + b + ":" + std::string(kReset) + c;
    } else if (report && RE2::FullMatch(line, section, &a, &b)) {
      out += std::string(kBold) + a + std::string(kReset) + b;
    } else if (report && RE2::FullMatch(line, group, &a, &b, &c)) {
      out += a + std::string(kGreen) + b + std::string(kReset) + c;
    } else {
      out += view;
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
