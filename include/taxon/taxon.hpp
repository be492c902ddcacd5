// taxon: declarative rules for PyTorch model parameters and checkpoints.
//
// This header is the library's front door; everything a program needs is here
// (the LibTorch trainer adds include/taxon/trainer.hpp). Link taxon::taxon
// (find_package(taxon)); LibTorch is not needed.
//
// RULES. Load a rule file once: taxon language (.tx), linnaeus or anemoi YAML.
//
//   taxon::Rules rules = taxon::Rules::load("groups.tx");
//   if (!rules.ok()) {                       // syntax or meaning errors
//     for (const auto& finding : rules.findings()) std::cerr << finding.rendered;
//     return 2;
//   }
//
// A file that cannot be read at all (missing, unknown kind) throws taxon::Error.
// Problems in the rules are findings, each with a code (docs/diagnostics.md),
// a position and a hint, and `rendered` is the clang-style text with the caret.
//
// MODELS. What rules are evaluated against: names, shapes, dtypes, and where
// known the owning module's class, parameter or buffer, requires_grad.
//
//   taxon::Model model = taxon::Model::from_dump("model.json");   // model-dump/1
//   taxon::Model ckpt = taxon::Model::from_checkpoint("ckpt.pt"); // .safetensors, .pt, sharded
//   taxon::Model built({{.name = "head.weight", .shape = {10, 768}, .dtype = "float32"}});
//   std::cout << ckpt.dump_json();   // what `taxon dump` prints; ckpt.notes() what it says besides
//
// EVALUATE. Which tensors each selection and group gets, with each group's
// options (lr, weight_decay, per-tensor layer decay) and the overlaps:
//
//   taxon::Report report = taxon::evaluate(rules, model);
//   for (const auto& group : report.groups) use(group.name, group.tensors, group.options);
//   std::cout << report.text();   // or report.json(): docs/eval-json.md
//
// EXPLAIN. Why one tensor lands where it does: each rule's verdict, term by term.
//
//   taxon::Explanation why = taxon::explain(rules, model, "blocks.0.norm.weight");
//   use(why.joined);              // the groups it joins
//   std::cout << why.text();      // what `taxon explain` prints
//
// APPLY. A `plan` block adapts checkpoints (strip, rename, drop, resize,
// surgery, skip mismatched, load) to a target; the verdict is PyTorch's
// load_state_dict's, reached before any byte is read:
//
//   taxon::ApplyOptions options;
//   options.checkpoints = {"ddp.pt"};
//   options.target = taxon::Model::from_dump("model.json");
//   taxon::Application application = taxon::plan_application(rules, options);
//   if (application.load_fails()) { std::cerr << application.text(); return 1; }
//   application.write("out.safetensors");   // atomic: whole or absent
//
// Every result owns its data: it stays valid after the Rules, Model or files
// it came from are gone. Nothing here runs code from a checkpoint.
//
// Rule files as text (formatting .tx, converting linnaeus YAML) are in include/taxon/format.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taxon {

// Could not run: a file that cannot be read or written, a malformed
// checkpoint, a missing actions library. `code` is the diagnostic code
// (T06xx and the like, docs/diagnostics.md); what() says where and why.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

enum class Level { note, warning, error };

// A problem found in the rules, or by evaluating them.
struct Finding {
  std::string code;  // "T0301"
  Level level = Level::error;
  std::string message;
  std::string hint;
  std::string file;  // "" when it concerns no file
  int line = 0, column = 0;  // 1-based; 0 when unknown
  std::string rendered;  // the clang-style text: header, source line, caret, hint
};

// The findings as `taxon` prints them: at most `max_shown`, then "and N more".
std::string render_findings(const std::vector<Finding>& findings, std::size_t max_shown = 5);

// One tensor of a model, as rules see it.
struct ModelTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype = "float32";  // PyTorch's name without `torch.`
  std::string kind = "parameter";  // parameter, buffer, or unknown (a checkpoint does not say)
  std::string module, module_type;  // the owning module and its class, where known
  bool requires_grad = true;
  bool persistent = true;  // a buffer registered with persistent=False is not in the state dict
  std::string tied_to;  // an earlier tensor sharing this one's storage
};

// A module of a model, the root ("") included: rules on module paths (`under`, anemoi's freeze
// lists) are checked against these.
struct ModelModule {
  std::string path;  // "encoder.layers.0"
  std::string type;  // its class: "Linear", "Block"
  // Its class and the classes it inherits from, qualified, in method resolution order, without
  // torch.nn.Module and object ("torch.nn.modules.normalization.LayerNorm"): `type in {...}`
  // then answers as isinstance() does. Empty: class names are compared as written.
  std::vector<std::string> ancestry;
  // A module shared under several paths is listed under each; every path but the first names
  // that first path here (empty: this is the module's own first path). Paths resolve through it
  // as get_submodule() does.
  std::string alias_of;
};

struct CheckpointOptions {
  // The entry of a torch file that holds the state dict (a dotted path: "state_dict_ema"); empty:
  // the first of state_dict, model_state_dict, model, module and the root that maps names to tensors.
  std::string source;
};

class Model {
 public:
  explicit Model(std::vector<ModelTensor> tensors, std::string name = "model", std::vector<ModelModule> modules = {});
  static Model from_dump(const std::string& path);  // model-dump/1 JSON (docs/model-dump.md); throws Error
  // Its state dict: .safetensors (a file, or a sharded checkpoint's index or folder) or a torch.save
  // file, read without running any of its code. Throws Error.
  static Model from_checkpoint(const std::string& path, const CheckpointOptions& options = {});
  // Either, told apart by the file's first byte (a dump is a JSON object): what every `taxon`
  // command that reads a model takes. A checkpoint's tensors carry no module types and do not say
  // which are parameters. Throws Error.
  static Model from_file(const std::string& path);
  // A model dump already in memory (read from a pipe); `name` is for messages. Throws Error.
  static Model parse_dump(const std::string& json, const std::string& name = "<stdin>");

  std::vector<ModelTensor> tensors() const;
  std::vector<ModelModule> modules() const;  // empty when unknown (a checkpoint)
  std::size_t size() const;

  // The model as model-dump/1 JSON, so every rule command can read it back. For a checkpoint, what
  // `taxon dump` prints: kinds unknown, and "objects" (the values of classes taxon does not know).
  std::string dump_json() const;
  // For a checkpoint: what it was read as, where the state dict was, what else holds tensors, the
  // objects kept as records, a wrapper prefix on every key ("note: ..." lines, as `taxon dump` prints
  // them). Empty for other models.
  std::vector<std::string> notes() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  std::shared_ptr<const Impl> shared_impl() const { return impl_; }

 private:
  explicit Model(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Values for a rule file's parameters (`param decay = 0.65`), by name: each is read as the
// language reads a value (`0.75`, `[0.9, 0.999]`, `"head."`), and is a string where it does not
// read as one. A name the file does not declare is an error finding (T0117).
using RuleParameters = std::vector<std::pair<std::string, std::string>>;

// The two languages of rule files: the taxon language (.tx) and YAML (linnaeus and anemoi configs).
enum class RulesLanguage { tx, yaml };

class Rules {
 public:
  // "-" reads standard input; a path that names no file, without an extension (or with .tx), is a
  // stdlib preset: "timm/layer_decay". Throws Error when unreadable.
  static Rules load(const std::string& path, const RuleParameters& parameters = {});
  static Rules parse(const std::string& text, const std::string& name = "<text>.tx",
                     const RuleParameters& parameters = {});  // taxon language, or YAML by the name
  // The same in a language given outright (text from a pipe has no name to tell it by).
  static Rules parse(const std::string& text, RulesLanguage language, const std::string& name,
                     const RuleParameters& parameters = {});

  bool ok() const;                        // no error-level finding
  std::vector<Finding> findings() const;  // in file order
  std::vector<std::string> plans() const;  // the `plan` blocks' names

  struct Impl;
  const Impl& impl() const { return *impl_; }
  std::shared_ptr<const Impl> shared_impl() const { return impl_; }

 private:
  explicit Rules(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// The stdlib presets Rules::load takes by name ("timm/layer_decay", "prefixes"), sorted; empty
// when the stdlib cannot be read.
std::vector<std::string> stdlib_presets();

// A group's option for all its tensors, or for one (per-tensor layer decay).
struct Setting {
  std::string name;                // "lr", "weight_decay", "lr_mult"
  std::string value;               // as written: "0.001", "true", "adamw"
  std::optional<double> number;    // when it is one
};

struct SelectionReport {
  std::string name;
  std::vector<std::string> tensors;  // in the model's order
  bool freezes = false;              // a `freeze` rule: these tensors should not train
  std::vector<std::size_t> rows;     // the same tensors' positions in Model::tensors()
};

struct GroupReport {
  std::string name;  // the group statement's, or `GROUP/RULE/...` for a part split by set rules
  bool is_default = false;
  std::vector<Setting> options;      // the group's own, then inherited, then the set rules'
  std::vector<std::string> tensors;  // in the model's order; never a frozen one, unless the rules keep them
  // Per tensor, when an option is computed from the name (layer decay): same order as `tensors`.
  std::vector<std::vector<Setting>> per_tensor;
  std::string rule;                     // the group statement it comes from
  std::vector<std::string> set_by;      // the set rules that gave it options (`layer_3`, `no_decay`)
  std::vector<std::string> frozen;      // frozen parameters its filter matched, left out of it
  std::vector<std::size_t> rows;        // `tensors`' positions in Model::tensors()
};

struct OverlapReport {
  std::string tensor;
  std::vector<std::string> groups;    // every group that matched
  std::vector<std::string> assigned;  // the ones it joined
};

struct EvaluateOptions {
  const Model* reference = nullptr;  // for `initialization` rules: tensors absent there, or of another shape
  // false: the report's selections and groups carry their names and options but not their
  // per-tensor lists (tensors, rows, per_tensor, frozen; overlaps stay); text() and json() are
  // the same either way. For a program that only prints the report: on a million tensors the
  // lists are a copy of every name and a Setting per computed option.
  bool tensor_lists = true;
  // Threads evaluation may start where a pass over many tensors splits (an aggregate's captures,
  // 16,384 tensors or more): 0 takes two, or one where the process may use one CPU (a Slurm
  // task given one); 1 keeps to the calling thread. The report is the same either way.
  unsigned threads = 0;
};

class Report {
 public:
  std::vector<SelectionReport> selections;
  std::vector<GroupReport> groups;  // in the file's order, the default group last
  std::vector<OverlapReport> overlaps;
  std::vector<Finding> findings;  // the rules' warnings, then what evaluation found

  bool has_errors() const;
  std::string text(bool list_all = false) const;  // what `taxon eval` prints
  std::string json() const;                       // docs/eval-json.md
  // The same JSON, written to `out` in pieces as it is made: a report naming a million tensors
  // is never held whole (what `taxon eval --format json` does).
  void write_json(std::ostream& out) const;

  struct Impl;
  std::shared_ptr<const Impl> impl;  // what the renderers need
};

// Throws Error only when the rules did not load (!rules.ok()).
Report evaluate(const Rules& rules, const Model& model, const EvaluateOptions& options = {});

// What the optimizer makes of the rules on this model, and the structures the compiled evaluator
// builds to answer them (`taxon eval --explain-plan`): text for people, for finding slow rules.
std::string evaluation_plan(const Rules& rules, const Model& model, const EvaluateOptions& options = {});

// One term of a rule with its verdict on the tensor; an and/or/not holds its terms.
struct ExplainedTerm {
  std::string text;  // as the rules write it: `name starts "head."`
  bool matched = false;
  std::vector<ExplainedTerm> terms;
};

// A selection's or group's verdict on the tensor.
struct RuleExplanation {
  std::string name;
  bool considered = true;  // false: the tensor is outside what the rule sees (groups see parameters only)
  bool matched = false;    // for a group: the predicate holds and groups are enabled
  bool joined = false;     // groups: the tensor joined this one
  std::optional<ExplainedTerm> predicate;  // absent for the default group
  std::vector<std::pair<std::string, std::string>> captures;  // named regex captures, for computed options
  std::vector<Setting> per_tensor;  // options computed for this tensor (layer decay), where it joined
};

class Explanation {
 public:
  ModelTensor tensor;        // the one asked about
  std::string rules_see;     // the name rules see it under: a tie's first name, else tensor.name
  std::string match_name;    // that name after the rules' prefix stripping
  bool trainable = true;     // requires_grad, and no freeze rule selects it
  std::vector<RuleExplanation> selections;
  std::vector<RuleExplanation> groups;  // in the file's order, the default group last; empty without groups
  std::vector<RuleExplanation> set_rules;  // `set` rules, in the file's order: `matched` when one applies
  std::string group_mode;               // "first-match" or "overlap"
  bool groups_enabled = true;           // false: the default group takes every parameter
  std::vector<std::string> joined;      // the groups it joins (as eval names them: `blocks/layer_3/no_decay`)
  std::vector<Finding> findings;        // the rules' warnings, then what evaluating them found (as evaluate())

  bool has_errors() const;   // an error-level finding stands: `taxon explain` exits 1, as `taxon eval` does
  std::string text() const;  // what `taxon explain` prints
  std::string json() const;  // `taxon explain --format json` (docs/cli.md)

  struct Impl;
  std::shared_ptr<const Impl> impl;
};

// Throws Error when the rules did not load (!rules.ok()), and no_such_tensor (T0605, with the
// closest name) when the model has no tensor of that name.
Explanation explain(const Rules& rules, const Model& model, const std::string& tensor, const EvaluateOptions& options = {});

// LINT. Mistakes in rule files, alone (syntax, unused or shadowed bindings, rules always true or
// false, suspicious regexes, plan steps) and against model dumps (groups matching nothing on every
// dump, overlaps — errors in overlap mode —, fully shadowed groups). A file that does not parse is
// a finding; one that cannot be read throws Error.
class LintReport {
 public:
  std::vector<Finding> findings;
  std::size_t errors = 0, warnings = 0;

  std::string text(std::size_t max_shown = 5) const;  // the findings as `taxon lint` prints them
  std::string json() const;                           // {"diagnostics": [...], "errors", "warnings"}
  std::string sarif() const;                          // SARIF 2.1.0, for code-scanning dashboards

  struct Impl;
  std::shared_ptr<const Impl> impl;
};
LintReport lint(const std::vector<std::string>& rule_files, const std::vector<Model>& dumps = {},
                const EvaluateOptions& options = {}, const RuleParameters& parameters = {});
// The same for rules already loaded (Rules::parse, a program's own text).
LintReport lint(const Rules& rules, const std::vector<Model>& dumps = {}, const EvaluateOptions& options = {});

struct ApplyOptions {
  std::string plan;                      // the file's only plan when empty
  std::vector<std::string> checkpoints;  // merged in order; empty: the plan's own (`from "..."`)
  std::optional<Model> target;           // the model to load into: the verdict is checked against it
  std::string target_name;               // for the report ("model.json")
  std::string source;                    // entry of a torch file holding the state dict (overrides `from`)
  std::string output;                    // where write() will write (its suffix picks the format), if known now:
                                         // checked (directory, not an input, not there) before any input is read
  bool overwrite = false;                // an existing output (or an earlier sharded save's files) may be replaced
  bool state_dict_only = false;          // a .pt of a nested checkpoint: the state dict alone
  bool keep_objects = false;             // a .pt: write back objects of classes taxon does not know
  std::string max_shard_size;            // "5GB": Hugging Face's sharded layout
  // One sharded .safetensors output from several processes that never talk (Slurm array tasks):
  // with max_shard_size, write() writes only the shards of part `part` (1-based) of `parts` (shard
  // s, 0-based, is part s mod parts + 1), replacing each atomically, and no index; `join` writes the
  // index once every shard is there (checked). Each run plans the whole layout from names and
  // shapes alone, so the same plan, inputs and size give every part the same layout; the joined
  // files equal a single write()'s byte for byte.
  std::size_t part = 0, parts = 0;
  bool join = false;
  // A sharded .safetensors output written by this many threads, each a part as above, then
  // joined: each shard appears atomically and the index last, so a failure leaves no index (and
  // the shards already written); memory is bounded by one shard's tensors per thread.
  std::size_t jobs = 1;
  bool list_all = false;                 // the text report lists every name
};

struct Renaming {
  std::string from, to;
};

struct ShapeMismatch {
  std::string name;
  std::vector<int64_t> checkpoint_shape, target_shape;
};

// What a plan did to the checkpoints' keys, section by section as the report lists them.
struct PlanOutcome {
  std::vector<std::string> keys;                  // the result's names, in order
  std::vector<Renaming> renamed;                  // by rename steps
  std::vector<Renaming> copied;                   // by copy steps
  std::vector<Renaming> tied;                     // the target ties `to` to `from`: added as that tensor
  std::vector<std::string> dropped;               // by drop steps
  std::vector<std::string> made;                  // by split, fuse, stack, unstack
  std::vector<ShapeMismatch> skipped;             // by `skip mismatched`
  std::vector<ShapeMismatch> mismatched;          // of another shape than the target's, unresolved
  std::vector<std::string> missing;               // in the target, not in the result
  std::vector<std::string> unexpected;            // in the result, not in the target
  std::vector<std::string> not_in_target;         // left out by `skip mismatched`: the target lacks them
  std::size_t loaded = 0;                         // keys the target takes as they are
  bool strict = true;                             // the plan's `load strict`
};

// One tensor of a plan's result, made in memory: contiguous, row-major, little-endian.
// The views are valid during the call they are passed to only.
struct TensorView {
  std::string_view name;
  std::span<const int64_t> shape;
  std::string_view dtype;  // PyTorch's name without `torch.`: "float32", "bfloat16"
  std::span<const std::byte> data;
};

// A plan run over checkpoints: the report and the verdict, before any tensor
// is made. write() makes the tensors and writes them; for_each_tensor() hands
// them over in memory (a trainer copying them into its module).
class Application {
 public:
  bool ok() const;          // no error-level finding in the plan's run
  bool load_fails() const;  // PyTorch's load_state_dict would refuse the result
  std::vector<std::string> reasons() const;  // why, when it fails
  std::string hint() const;
  std::vector<Finding> findings() const;
  std::vector<std::string> notes() const;  // what a write leaves out, and why ("note: ...")

  PlanOutcome outcome() const;
  std::string text() const;  // the report `taxon apply` prints
  std::string json() const;

  // Makes each tensor of the result (actions and surgery carried out) and passes it to `each`,
  // in the result's order; only those `wanted` accepts, when given. Throws Error when a tensor
  // cannot be made (an action fails, its library is missing) or when the plan failed.
  void for_each_tensor(const std::function<void(const TensorView&)>& each,
                       const std::function<bool(std::string_view name)>& wanted = {}) const;

  // Writes the result to `output` (or options.output): .safetensors, .pt/.pth/.bin/.ckpt,
  // sharded with max_shard_size. Atomic. Returns the files written. Throws Error.
  using Progress = std::function<void(uint64_t done, uint64_t total)>;
  std::vector<std::string> write(const std::string& output = {}, const Progress& progress = {});

  struct Impl;
  std::shared_ptr<Impl> impl;
};

// Checks options.output before anything is read: its suffix, that its
// directory exists and is writable, that it is not an input, that it (or an
// earlier sharded save at that name) does not exist unless options.overwrite,
// and options.max_shard_size. plan_application() checks the same. Throws Error.
void check_output(const ApplyOptions& options);

// Reads the checkpoints, runs the plan (with the target, the verdict), checks
// what a write would need (the actions library, the output's dtypes). Throws
// Error when an input cannot be read or the plan is not in the rules.
Application plan_application(const Rules& rules, const ApplyOptions& options);

}  // namespace taxon
