// `taxon fmt` and `taxon convert`: rule files rewritten, through include/taxon/format.hpp.
#include "tools/format_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "taxon/format.hpp"
#include "tools/cli_common.hpp"
#include "tools/terminal_colour.hpp"

namespace taxon::cli {

void FmtCommand::add_to(CLI::App& app) {
  CLI::App* command = app.add_subcommand("fmt", "Rewrite .tx rule files in canonical form");
  command->footer(
      "Examples:\n"
      "  taxon fmt rules.tx                 rewrite in place (only when something changes)\n"
      "  taxon fmt --check rules/*.tx       change nothing; list files that would change, exit 1 if any\n"
      "  taxon fmt - < rules.tx             read stdin, write the formatted text to stdout\n"
      "\n"
      "Comments are kept. Formatting is idempotent: a formatted file formats to itself.\n"
      "Exit status: 0 done; 1 --check found files to reformat; 2 a file does not parse or cannot be written.");
  command->add_option("FILES", files, "Rule files (.tx), or - for stdin")->required();
  command->add_flag("--check", check, "Change nothing; exit 1 when a file is not formatted");
  command->add_option("--max-errors", max_errors, "Diagnostics shown on stderr before 'and N more'")->capture_default_str();
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int FmtCommand::run() const {
  bool unformatted = false, failed = false;
  for (const auto& path : files) {
    if (auto not_tx = check_tx_path(path)) {
      std::cerr << paint_diagnostics(not_tx->rendered, 2);
      failed = true;
      continue;
    }
    Formatted formatted = format_file(path);
    if (!formatted.ok) {
      std::cerr << paint_diagnostics(render_findings(formatted.findings, max_errors), 2);
      failed = true;
      continue;
    }
    if (path == "-") {
      std::cout << formatted.text;
      if (check && formatted.changed) unformatted = true;
      continue;
    }
    if (!formatted.changed) continue;
    if (check) {
      std::cout << fmt::format("would reformat {}\n", path);
      unformatted = true;
      continue;
    }
    write_text_file(path, formatted.text);
    std::cerr << fmt::format("reformatted {}\n", path);
  }
  if (failed) return kCouldNot;
  return unformatted ? kAnswerNo : kDone;
}

void ConvertCommand::add_to(CLI::App& app) {
  CLI::App* command = app.add_subcommand("convert", "Convert linnaeus YAML rules to the taxon language");
  command->footer(
      "Examples:\n"
      "  taxon convert config.yaml                write .tx to stdout\n"
      "  taxon convert config.yaml -o rules.tx    write a file (refuses to overwrite without --force)\n"
      "\n"
      "linnaeus's implicit behaviour (DDP prefix stripping, overlapping groups, DEFAULT's inherited\n"
      "settings, frozen parameters excluded from GradNorm) becomes explicit, commented rules, and the\n"
      "result evaluates exactly as the YAML does.\n"
      "Exit status: 0 done; 2 the YAML has errors, or the output cannot be written.");
  command->add_option("FILE", input, "linnaeus YAML: a filter tree or a config (.yaml, .yml)")->required();
  command->add_option("-o,--output", output, "Write to this file instead of stdout");
  command->add_flag("--force", force, "Overwrite an existing output file");
  command->add_option("--max-errors", max_errors, "Diagnostics shown on stderr before 'and N more'")->capture_default_str();
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int ConvertCommand::run() const {
  Formatted converted = convert_to_tx(input, ConvertOptions{output, force});
  std::cerr << paint_diagnostics(render_findings(converted.findings, max_errors), 2);
  if (!converted.ok) return kCouldNot;
  if (output.empty()) std::cout << converted.text;
  else write_text_file(output, converted.text, force);
  return kDone;
}

}  // namespace taxon::cli
