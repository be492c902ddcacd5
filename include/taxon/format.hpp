// taxon: rule files as text. Formatting taxon language files (`taxon fmt`), converting linnaeus
// YAML to them (`taxon convert`), and writing the result.
//
//   taxon::Formatted formatted = taxon::format_file("rules.tx");
//   if (!formatted.ok) { std::cerr << taxon::render_findings(formatted.findings); return 2; }
//   if (formatted.changed) taxon::write_text_file("rules.tx", formatted.text);
//
//   taxon::Formatted tx = taxon::convert_to_tx("config.yaml", {.output = "rules.tx"});
//   if (tx.ok) taxon::write_text_file("rules.tx", tx.text, /*overwrite=*/false);
//
// Formatting keeps comments and is idempotent: a formatted text formats to itself. Should it not,
// that is a bug in taxon, never in the file: std::logic_error, and nothing is returned to write.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "taxon/taxon.hpp"

namespace taxon {

struct Formatted {
  bool ok = false;                // no error-level finding: `text` is the result
  std::string text;               // canonical .tx text; "" when !ok
  bool changed = false;           // format_file: `text` differs from the file as read
  std::vector<Finding> findings;  // the input's, warnings included, in file order
};

// The taxon language in `text`, canonically formatted. Only syntax is checked: a file that parses
// formats, whatever its rules mean. `name` is for findings.
Formatted format_rules(const std::string& text, const std::string& name = "<text>.tx");

// When `path` is not something format_file() formats ("-" or a .tx file): the finding that says so,
// with the command that converts linnaeus YAML. A caller formatting many files goes on with the next.
std::optional<Finding> check_tx_path(const std::string& path);

// The file at `path` formatted ("-" reads standard input, named "<stdin>" in findings). Throws Error
// when it cannot be read.
Formatted format_file(const std::string& path);

struct ConvertOptions {
  std::string output;      // where the text will be written, if known now: checked before the YAML is read
  bool overwrite = false;  // an existing output may be replaced
};

// The linnaeus YAML at `path` (a filter tree or a config, .yaml or .yml) as .tx text that evaluates
// as the YAML does, linnaeus's implicit behaviour written out as commented rules. Findings are the
// YAML's. Throws Error when `path` is not YAML, cannot be read, or options.output exists and may not
// be replaced.
Formatted convert_to_tx(const std::string& path, const ConvertOptions& options = {});

// Replaces `path` with `text` atomically (a temporary beside it, then a rename): whole or untouched.
// Throws Error (T0604) when it cannot be written, or exists and !overwrite.
void write_text_file(const std::string& path, const std::string& text, bool overwrite = true);

}  // namespace taxon
