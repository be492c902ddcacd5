// taxon(1): NAME, SYNOPSIS, DESCRIPTION, a section per command (as `taxon COMMAND --help` says
// it: options, notes, examples, exit status), ENVIRONMENT and EXIT STATUS.
#include "tools/man_page.hpp"

#include <cctype>
#include <iostream>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "tools/cli_common.hpp"
#include "tools/cli_tree.hpp"

#ifndef TAXON_VERSION
#define TAXON_VERSION "unknown"
#endif

namespace taxon::cli {
namespace {

// `text` safe in roff: backslashes, minus signs (so that `--dump` copies as typed), quotes and
// backticks as themselves, and a leading . or ' not taken for a request.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\e"; break;
      case '-': out += "\\-"; break;
      case '\'': out += "\\(aq"; break;
      case '`': out += "\\(ga"; break;
      default: out += c;
    }
  }
  if (!out.empty() && out.front() == '.') out.insert(0, "\\&");
  return out;
}

std::string bold(std::string_view text) { return "\\fB" + roff(text) + "\\fR"; }
std::string italic(std::string_view text) { return "\\fI" + roff(text) + "\\fR"; }

// An option's value as --help names it, the choices spelled out: `text|json`, `NAME=VALUE`.
std::string value_name(const Argument& argument) {
  if (argument.value == ValueKind::choices) {
    std::string out;
    for (const auto& choice : argument.choices) out += (out.empty() ? "" : "|") + italic(choice);
    return out;
  }
  return italic(argument.type_name);
}

// How an argument is written: `\fB\-o\fR, \fB\-\-output\fR \fITEXT\fR`, or `\fIRULES\fR...`.
std::string usage(const Argument& argument) {
  if (argument.positional) return italic(argument.names.front()) + (argument.repeats ? "..." : "");
  std::string out;
  for (const auto& name : argument.names) out += (out.empty() ? "" : ", ") + bold(name);
  if (!argument.takes_value()) return out;
  return out + " " + value_name(argument) + (argument.repeats ? " ..." : "");
}

// `taxon eval RULES --dump TEXT [OPTIONS]`: the required arguments, then the optional ones.
std::string synopsis(const Command& command) {
  std::string out = bold("taxon " + command.name);
  for (const auto& option : command.options) {
    if (option.required) out += " " + bold(option.names.back()) + " " + value_name(option);
  }
  bool has_optional_options = false;
  for (const auto& option : command.options) has_optional_options |= !option.required;
  if (has_optional_options) out += " [" + italic("OPTIONS") + "]";
  for (const auto& positional : command.positionals)
    out += " " + (positional.required ? usage(positional) : "[" + usage(positional) + "]");
  return out;
}

// --help's footer as roff: runs of indented lines (examples) kept as they are; other lines filled
// into paragraphs, a new one after a blank line and at the labels every footer uses
// ("Examples:", "Exit status: ...").
std::string footer_roff(const std::string& footer) {
  std::string out, paragraph;
  bool verbatim = false;
  auto end_paragraph = [&] {
    if (!paragraph.empty()) out += ".PP\n" + roff(paragraph) + "\n";
    paragraph.clear();
  };
  std::istringstream lines(footer);
  for (std::string line; std::getline(lines, line);) {
    bool indented = !line.empty() && std::isspace(static_cast<unsigned char>(line.front()));
    if (indented && !verbatim) {
      // Right under their label ("Examples:"); after a blank line, a paragraph of their own.
      if (paragraph.empty()) out += ".PP\n";
      end_paragraph();
      out += ".nf\n";
    } else if (!indented && verbatim) {
      out += ".fi\n";
    }
    verbatim = indented;
    if (verbatim) {
      out += roff(line) + "\n";
    } else if (line.empty() || line.starts_with("Examples") || line.starts_with("Exit status")) {
      end_paragraph();
      paragraph = line;
    } else {
      paragraph += (paragraph.empty() ? "" : " ") + line;
    }
  }
  if (verbatim) out += ".fi\n";
  end_paragraph();
  return out;
}

std::string arguments_roff(const Command& command) {
  std::string out;
  auto entry = [&out](const Argument& argument) {
    std::string notes;
    if (argument.required && !argument.positional) notes = " (required)";
    if (!argument.default_value.empty()) notes = fmt::format(" (default: {})", argument.default_value);
    out += ".TP\n" + usage(argument) + "\n" + roff(argument.description + notes) + "\n";
  };
  for (const auto& positional : command.positionals) entry(positional);
  for (const auto& option : command.options)
    if (!option.inherited) entry(option);  // listed once, with taxon's own options
  return out;
}

std::string page(const Command& program, const std::vector<Command>& commands) {
  // "taxon: declarative rules ..." is --help's first line; NAME wants what follows the colon.
  std::string summary = program.description;
  if (summary.starts_with("taxon: ")) summary.erase(0, 7);

  std::string out = fmt::format(
      ".\\\" taxon(1), written by `taxon __man` from the definitions behind `taxon --help`: do not edit.\n"
      ".TH TAXON 1 \"\" \"taxon {}\" \"User Commands\"\n"
      ".\\\" Left-aligned and unhyphenated, so that option names and paths copy as they are.\n"
      ".ad l\n.nh\n"
      ".SH NAME\ntaxon \\- {}\n"
      ".SH SYNOPSIS\n.nf\n",
      TAXON_VERSION, roff(summary));
  for (const auto& command : commands) out += synopsis(command) + "\n";
  std::string exits;  // taxon --help | --version
  for (const auto& option : program.options)
    if (option.exits) exits += (exits.empty() ? "" : " | ") + bold(option.names.back());
  if (!exits.empty()) out += bold("taxon") + " " + exits + "\n";
  out += ".fi\n";

  out += ".SH DESCRIPTION\n.PP\n" + roff(program.description) + ".\n";
  out += ".PP\nThe commands, each described in its own section below:\n";
  for (const auto& command : commands) out += ".TP\n" + bold(command.name) + "\n" + roff(command.description) + "\n";
  out += ".PP\nOptions of taxon itself:\n" + arguments_roff(program);
  out += footer_roff(program.footer);

  for (const auto& command : commands) {
    std::string title = "taxon " + command.name;
    for (char& c : title) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += fmt::format(".SH \"{}\"\n.nf\n{}\n.fi\n.PP\n{}.\n", roff(title), synopsis(command), roff(command.description));
    out += arguments_roff(command);
    out += footer_roff(command.footer);
  }

  out += ".SH ENVIRONMENT\n"
         ".TP\n" + bold("NO_COLOR") + "\n"
         "Set and not empty: no colour where taxon would choose to colour by itself (https://no\\-color.org).\n"
         ".TP\n" + bold("TAXON_HUGE_PAGES") + "\n" +
         roff("0: taxon leaves glibc's heap as it is. Otherwise, given an input of 4 MiB or more, it puts "
              "the heap on transparent huge pages and keeps freed memory for reuse, where the kernel allows it "
              "and GLIBC_TUNABLES is not set (faster on large models).") + "\n"
         ".TP\n" + bold("TAXON_STDLIB") + "\n" +
         roff("The stdlib directory (presets such as timm/layer_decay, and where `import` looks after the "
              "importing file's directory); by default the installed share/taxon/stdlib.") + "\n"
         ".TP\n" + bold("TAXON_ACTIONS_LIBRARY") + "\n" +
         roff("The tensor actions library (libtaxon_actions.so) that plans with tensor actions load.") + "\n";

  out += ".SH \"EXIT STATUS\"\n";
  for (auto [code, meaning] : {
           std::pair{kDone, "done; nothing at error level (warnings and notes may have been printed)"},
           std::pair{kAnswerNo, "done, and the answer is \"no\": an error-level finding stands (each command's section says which)"},
           std::pair{kCouldNot, "could not do the job: a usage error, unreadable or invalid input, an output that cannot be written"},
           std::pair{kInternalError, "a bug in taxon: a check of its own invariants failed"},
       })
    out += fmt::format(".TP\n{}\n{}\n", static_cast<int>(code), roff(meaning));
  return out;
}

}  // namespace

void ManPageCommand::add_to(CLI::App& app) {
  program = &app;
  CLI::App* command = app.add_subcommand("__man", "Print the manual page taxon(1) in roff")->group("");  // hidden
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int ManPageCommand::run() const {
  std::cout << page(program_command(*program), visible_commands(*program));
  return kDone;
}

}  // namespace taxon::cli
