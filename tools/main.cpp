// The `taxon` command line: parses arguments, runs one subcommand, and turns
// every failure into a message and an exit code (docs/cli.md).
#include <csignal>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "taxon/taxon.hpp"

#include "engine/diagnostic.hpp"
#include "engine/internal_error.hpp"
#include "runtime/input_error.hpp"
#include "tools/cli_common.hpp"
#include "tools/completion_command.hpp"
#include "tools/eval_command.hpp"
#include "tools/apply_command.hpp"
#include "tools/dump_command.hpp"
#include "tools/format_commands.hpp"
#include "tools/huge_page_heap.hpp"
#include "tools/lint_command.hpp"
#include "tools/man_page.hpp"
#include "tools/terminal_colour.hpp"
#include "tools/usage_error.hpp"

#ifndef TAXON_VERSION
#define TAXON_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace taxon::cli;
  prepare_heap_for_large_input(argv);
  // Past a file size limit (ulimit -f) a write then fails with EFBIG and is reported like a full
  // disk, instead of the signal killing the process before it can say so.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    CLI::App app{"taxon: declarative rules for PyTorch parameters and checkpoints", "taxon"};
    app.set_version_flag("--version", "taxon " TAXON_VERSION);
    app.require_subcommand(1);
    add_colour_option(app);
    app.fallthrough();  // --color may follow the command's own options
    app.footer("Run `taxon COMMAND --help` for a command's options and examples.");
    EvalCommand eval;
    eval.add_to(app);
    FmtCommand fmt_command;
    fmt_command.add_to(app);
    ConvertCommand convert;
    convert.add_to(app);
    LintCommand lint;
    lint.add_to(app);
    ExplainCommand explain;
    explain.add_to(app);
    DumpCommand dump;
    dump.add_to(app);
    ApplyCommand apply;
    apply.add_to(app);
    CompletionCommand completion;
    completion.add_to(app);
    ManPageCommand man_page;
    man_page.add_to(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::RuntimeError& finished) {
      return finished.get_exit_code();  // a subcommand ran; this is its exit code
    } catch (const CLI::CallForHelp& help) {
      return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
      return app.exit(help);
    } catch (const CLI::CallForVersion& version) {
      return app.exit(version);
    } catch (const CLI::ParseError& error) {
      UsageError usage = describe_usage_error(app, error, argc, argv);
      std::cerr << paint_diagnostics(fmt::format("error[{}]: {}\n = hint: {}\n", taxon::code::usage, usage.message, usage.hint), 2);
      return kCouldNot;
    }
    return kDone;
  } catch (const taxon::InternalError& error) {  // a bug in taxon: its message says where to report it
    std::cerr << fmt::format("internal error: {}\n", error.what());
    return kInternalError;
  } catch (const taxon::InputError& error) {
    std::cerr << paint_diagnostics(fmt::format("error[{}]: {}\n", error.code(), error.what()), 2);
    return kCouldNot;
  } catch (const taxon::Error& error) {  // the same, from the public API (include/taxon/taxon.hpp)
    std::cerr << paint_diagnostics(fmt::format("error[{}]: {}\n", error.code(), error.what()), 2);
    return kCouldNot;
  } catch (const std::exception& error) {  // unexpected, and perhaps no bug (out of memory): exit 2, as always
    std::cerr << fmt::format("internal error: {}; please report this at " TAXON_ISSUE_TRACKER " with the command that failed\n",
                             error.what());
    return kCouldNot;
  } catch (...) {
    std::cerr << "internal error: unknown exception; please report this at " TAXON_ISSUE_TRACKER " with the command that failed\n";
    return kCouldNot;
  }
}
