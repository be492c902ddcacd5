// Rule files from disk: the front end chosen by the extension (taxon
// language .tx, linnaeus or anemoi YAML), imports resolved next to the
// importing file and then in the stdlib. What the CLI and the trainer API read.
#pragma once

#include <string>
#include <vector>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/plans/plan.hpp"
#include "grammar/tx_ast.hpp"
#include "grammar/tx_lower.hpp"

namespace taxon {

struct RuleFile {
  SourceRef source;
  Program program;
  Diagnostics diagnostics;
  Diagnostics lint;                 // findings only `taxon lint` reports
  std::vector<tx::Plan> plans;      // checkpoint plans as written (taxon language only)
  std::vector<CheckpointPlan> checkpoint_plans;
  bool is_yaml = false;
};

// Reads and lowers a rule file ("-" is standard input, as taxon language).
// Throws InputError when the file cannot be read or has an unknown kind;
// problems in the rules are diagnostics.
// A path that names no file and has no extension, or ends in .tx, is looked for in the stdlib
// too: `timm/layer_decay` is stdlib/timm/layer_decay.tx. `parameters` set the file's `param`s.
RuleFile load_rule_file(const std::string& path, const tx::Parameters& parameters = {});

// The same for rules already in memory: YAML (linnaeus, anemoi) or the taxon
// language; imports resolve next to `source->path`, then in the stdlib.
RuleFile lower_rule_source(SourceRef source, bool yaml, const tx::Parameters& parameters = {});

// Where `import "x.tx"` looks: next to the importing file, then in taxon's
// stdlib ($TAXON_STDLIB, else the installed share/taxon/stdlib, else the
// source tree's stdlib/).
SourceRef resolve_import(const std::string& path, const SourceFile& from, std::string& error);

// The plan called `name`, or the file's only plan when `name` is empty; null
// when there is no such plan (`names` then lists the file's plans).
const CheckpointPlan* find_plan(const RuleFile& rules, const std::string& name, std::vector<std::string>& names);

// The stdlib directory imports fall back to.
std::string stdlib_directory();

// The stdlib presets, by the names the command line takes them by ("timm/layer_decay": every .tx
// file under stdlib_directory(), without the extension), sorted; empty when it cannot be read.
std::vector<std::string> stdlib_preset_names();

}  // namespace taxon
