// Rule files as text (include/taxon/format.hpp): `taxon fmt`'s formatting, `taxon convert`'s
// conversion, and the atomic write both end with.
#include "taxon/format.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "api/internal.hpp"
#include "engine/internal_error.hpp"
#include "grammar/linnaeus_to_tx.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"
#include "runtime/files.hpp"

namespace taxon {
namespace {

// `shown_as` names the input in the internal error: the path as given ("-" for stdin).
Formatted format_source(const SourceRef& source, const std::string& shown_as) {
  Formatted out;
  Diagnostics diagnostics;
  tx::File file = tx::parse(source, diagnostics);
  out.findings = to_findings(diagnostics.items());
  if (diagnostics.has_errors()) return out;
  std::string formatted = tx::print_file(file);
  // Never hand back text that does not format to itself: that would be a bug in fmt, not in the file.
  Diagnostics recheck;
  tx::File again = tx::parse(std::make_shared<SourceFile>(SourceFile{source->path, formatted}), recheck);
  if (recheck.has_errors() || tx::print_file(again) != formatted)
    throw InternalError(fmt::format("fmt would change the meaning or layout of {} on a second run", shown_as));
  out.ok = true;
  out.changed = formatted != source->text;
  out.text = std::move(formatted);
  return out;
}

void refuse_existing(const std::string& path) {
  if (std::filesystem::exists(path))
    throw InputError(code::unwritable_output, fmt::format("{} exists; pass --force to overwrite it", path));
}

}  // namespace

Formatted format_rules(const std::string& text, const std::string& name) {
  return format_source(std::make_shared<SourceFile>(SourceFile{name, text}), name);
}

std::optional<Finding> check_tx_path(const std::string& path) {
  if (path == "-" || std::filesystem::path(path).extension() == ".tx") return std::nullopt;
  Diagnostic diagnostic;
  diagnostic.code = std::string(code::unsupported_input);
  diagnostic.message = fmt::format("{}: fmt formats taxon language files (.tx)", path);
  diagnostic.hint = fmt::format("`taxon convert {}` turns linnaeus YAML into .tx", path);
  return to_finding(diagnostic);
}

Formatted format_file(const std::string& path) {
  return translating_errors([&] { return format_source(load_source(path), path); });
}

Formatted convert_to_tx(const std::string& path, const ConvertOptions& options) {
  return translating_errors([&] {
    std::string extension = std::filesystem::path(path).extension().string();
    if (extension != ".yaml" && extension != ".yml")
      throw InputError(code::unsupported_input,
                       fmt::format("{}: convert reads linnaeus YAML (.yaml, .yml), not '{}'", path, extension));
    if (!options.output.empty() && !options.overwrite) refuse_existing(options.output);
    SourceRef source = load_source(path);
    Diagnostics diagnostics;
    Formatted out;
    out.text = tx::linnaeus_to_tx(source, diagnostics);
    out.findings = to_findings(diagnostics.items());
    out.ok = !diagnostics.has_errors();
    if (!out.ok) out.text.clear();
    return out;
  });
}

void write_text_file(const std::string& path, const std::string& text, bool overwrite) {
  translating_errors([&] {
    if (!overwrite) refuse_existing(path);
    write_file_atomic(path, text);
  });
}

}  // namespace taxon
