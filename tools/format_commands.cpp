#include "tools/format_commands.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "engine/internal_error.hpp"
#include "grammar/linnaeus_to_tx.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"
#include "tools/cli_common.hpp"

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
    if (path != "-" && std::filesystem::path(path).extension() != ".tx") {
      std::cerr << fmt::format("error[{}]: {}: fmt formats taxon language files (.tx)\n = hint: `taxon convert {}` "
                               "turns linnaeus YAML into .tx\n",
                               code::unsupported_input, path, path);
      failed = true;
      continue;
    }
    SourceRef source = load_source(path);
    Diagnostics diagnostics;
    tx::File file = tx::parse(source, diagnostics);
    if (diagnostics.has_errors()) {
      print_diagnostics(diagnostics.items(), max_errors);
      failed = true;
      continue;
    }
    std::string formatted = tx::print_file(file);
    // Never write text that does not format to itself: that would be a bug in fmt, not in the file.
    Diagnostics recheck;
    tx::File again = tx::parse(std::make_shared<SourceFile>(SourceFile{source->path, formatted}), recheck);
    if (recheck.has_errors() || tx::print_file(again) != formatted)
      throw InternalError(fmt::format("fmt would change the meaning or layout of {} on a second run", path));
    if (path == "-") {
      std::cout << formatted;
      if (check && formatted != source->text) unformatted = true;
      continue;
    }
    if (formatted == source->text) continue;
    if (check) {
      std::cout << fmt::format("would reformat {}\n", path);
      unformatted = true;
      continue;
    }
    write_file_atomic(path, formatted);
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
  std::string extension = std::filesystem::path(input).extension().string();
  if (extension != ".yaml" && extension != ".yml")
    throw InputError(code::unsupported_input,
                     fmt::format("{}: convert reads linnaeus YAML (.yaml, .yml), not '{}'", input, extension));
  if (!output.empty() && !force && std::filesystem::exists(output))
    throw InputError(code::unwritable_output,
                     fmt::format("{} exists; pass --force to overwrite it", output));
  SourceRef source = load_source(input);
  Diagnostics diagnostics;
  std::string converted = tx::linnaeus_to_tx(source, diagnostics);
  print_diagnostics(diagnostics.items(), max_errors);
  if (diagnostics.has_errors()) return kCouldNot;
  if (output.empty()) std::cout << converted;
  else write_file_atomic(output, converted);
  return kDone;
}

}  // namespace taxon::cli
