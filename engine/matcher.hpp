// Answers predicates for one table of tensors: the shared core of evaluate
// and explain. Internal to the engine.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <re2/re2.h>

#include "engine/diagnostic.hpp"
#include "engine/evaluate.hpp"
#include "engine/ir.hpp"
#include "engine/module_paths.hpp"
#include "engine/regex.hpp"
#include "engine/type_names.hpp"
#include "engine/value_expr.hpp"


namespace taxon {

// Whether a selection over `universe` considers the tensor at all: tied
// entries are seen once, under their first name; buffers only when asked.
inline bool in_universe(const TensorRecord& tensor, Universe universe) {
  if (tensor.tied_to) return false;
  // A checkpoint's tensor may be a parameter; rules on it see it as one.
  return universe == Universe::all_tensors || tensor.kind != TensorKind::buffer;
}

// Everything a predicate needs that is computed once per table, not per tensor.
class Matcher {
  struct CompiledRegex;

 public:
  Matcher(const Program& program, const TensorTable& table, const EvalOptions& options)
      : table_(table), reference_(options.reference) {
    stage_map_ = program.stage_map ? &*program.stage_map : (table.stage_map ? &*table.stage_map : nullptr);
    if (program.strip_name_prefix && !program.strip_name_prefix->empty()) strip_prefix_ = *program.strip_name_prefix;
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (auto first = table.tensors[i].tied_to) aliases_[*first].push_back(i);
    if (!table.module_mro.empty()) {
      owner_mro_.reserve(table.tensors.size());
      for (const auto& tensor : table.tensors) owner_mro_.push_back(module_mro(table, tensor.module));
    }
    frozen_by_rule_.assign(table.tensors.size(), false);
  }
  // Not copied: regex() keeps a pointer into this object's own table of patterns.
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Compiles regexes and reports what the table cannot answer, once per rule.
  void prepare(const Predicate& predicate, Diagnostics& diagnostics) {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, StringMatch>) {
            if (node.op == MatchOp::regex)
              for (const auto& pattern : node.patterns) compile(pattern, predicate.span, diagnostics);
          } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
            if (!table_.has_module_types)
              diagnostics.error(code::needs_module_types, predicate.span,
                                "this rule needs module types, and the tensors evaluated have none",
                                "give a model dump (with \"modules\" and \"module_type\"), not a checkpoint's dump");
            else
              check_type_names(node, predicate.span, diagnostics);
          } else if constexpr (std::is_same_v<Node, KindIs>) {
            if (table_.has_unknown_kinds)
              diagnostics.error(code::needs_tensor_kinds, predicate.span,
                                "this rule asks whether a tensor is a parameter or a buffer, and the tensors evaluated come "
                                "from a checkpoint, which does not say",
                                "give a model dump (tools/dump_model.py) of the model instead of the checkpoint's dump");
          } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
            check_module_paths(node, predicate.span, diagnostics);
          } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
            if (!reference_)
              diagnostics.warning(code::no_reference, predicate.span,
                                  "no reference checkpoint: every tensor counts as newly initialized",
                                  "pass --reference with a model dump of the pretrained checkpoint to compare names and shapes");
          } else if constexpr (std::is_same_v<Node, StageIn>) {
            if (!stage_map_)
              diagnostics.warning(code::no_stage_map, predicate.span,
                                  "no stage map: this stage_based rule matches nothing",
                                  "add `parameter_groups_metadata: {stages: {STAGE: [patterns]}}` to the rule file "
                                  "or the model dump");
          } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
            for (const auto& term : node.terms) prepare(term, diagnostics);
          } else if constexpr (std::is_same_v<Node, Not>) {
            prepare(*node.term, diagnostics);
          }
        },
        predicate.node);
  }

  // The name rules see: the tensor's name without the program's stripped prefix.
  std::string_view match_name(std::size_t index) const {
    std::string_view name = table_.tensors[index].name;
    if (!strip_prefix_.empty() && name.starts_with(strip_prefix_)) name.remove_prefix(strip_prefix_.size());
    return name;
  }

  // requires_grad, after the program's freeze rules.
  bool trainable(std::size_t index) const { return table_.tensors[index].requires_grad && !frozen_by_rule_[index]; }
  void freeze(std::size_t index) { frozen_by_rule_[index] = true; }

  // From now on, what the predicate's regexes capture is kept tensor by tensor for whoever asks
  // again: an aggregate (`max(layer where block)`) reads the captures of every tensor it ranges
  // over, and set rules and options over the same predicate read them again.
  void remember_captures(const Predicate& predicate) {
    for_each_named_regex(predicate, [&](StringField field, const CompiledRegex& compiled) {
      auto& memo = compiled.memo[static_cast<std::size_t>(field)];
      if (!memo) memo = std::make_unique<CaptureMemo>(table_.tensors.size(), compiled.named.size());
    });
  }

  // The named captures the predicate's regexes bind for this tensor (those
  // under `not` never bind); the first binding of a name wins.
  void captures(const Predicate& predicate, std::size_t index, Captures& out) const {
    for_each_named_regex(predicate, [&](StringField field, const CompiledRegex& compiled) {
      capture(field, compiled, index, out, groups_);
    });
  }

  // The regexes captures() reads for a predicate, found once for callers that ask about many
  // tensors (the walk over the predicate is then not repeated per tensor).
  class CaptureSources {
    friend class Matcher;
    std::vector<std::pair<StringField, const CompiledRegex*>> regexes_;
  };
  CaptureSources capture_sources(const Predicate& predicate) const {
    CaptureSources sources;
    for_each_named_regex(predicate, [&](StringField field, const CompiledRegex& compiled) {
      sources.regexes_.emplace_back(field, &compiled);
    });
    return sources;
  }
  using CaptureScratch = std::vector<re2::StringPiece>;  // one per thread
  // captures() from the predicate's sources. Threads may call this at once, each with its own
  // scratch, as long as no two ask about the same tensor: RE2 matches from any thread, and a
  // tensor's slot in a memo (remember_captures) is written only by whoever asks about it.
  void captures(const CaptureSources& sources, std::size_t index, Captures& out, CaptureScratch& scratch) const {
    for (const auto& [field, compiled] : sources.regexes_) capture(field, *compiled, index, out, scratch);
  }

  bool matches(const Predicate& predicate, std::size_t index) const {
    const TensorRecord& tensor = table_.tensors[index];
    return std::visit(
        [&](const auto& node) -> bool {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, Constant>) {
            return node.value;
          } else if constexpr (std::is_same_v<Node, StringMatch>) {
            std::string_view text = subject(node.field, index);
            return std::any_of(node.patterns.begin(), node.patterns.end(),
                               [&](const std::string& pattern) { return string_matches(node.op, text, pattern); });
          } else if constexpr (std::is_same_v<Node, RankIn>) {
            return std::find(node.ranks.begin(), node.ranks.end(), static_cast<int64_t>(tensor.rank())) !=
                   node.ranks.end();
          } else if constexpr (std::is_same_v<Node, ShapeIs>) {
            if (node.dims.size() != tensor.shape.size()) return false;
            for (std::size_t d = 0; d < node.dims.size(); ++d)
              if (node.dims[d] && *node.dims[d] != tensor.shape[d]) return false;
            return true;
          } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
            return module_is_under(tensor.module, resolved(node).modules);
          } else if constexpr (std::is_same_v<Node, DtypeIn>) {
            return std::find(node.dtypes.begin(), node.dtypes.end(), tensor.dtype) != node.dtypes.end();
          } else if constexpr (std::is_same_v<Node, KindIs>) {
            return tensor.kind == node.kind;
          } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
            return owner_type_in(index, node);
          } else if constexpr (std::is_same_v<Node, RequiresGrad>) {
            return trainable(index) == node.value;
          } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
            if (!reference_) return true;
            auto found = reference_->shapes.find(std::string(match_name(index)));
            return found == reference_->shapes.end() || found->second != tensor.shape;
          } else if constexpr (std::is_same_v<Node, StageIn>) {
            if (!stage_map_) return false;
            auto stage = stage_map_->stage_of(match_name(index));
            return stage && std::find(node.stages.begin(), node.stages.end(), *stage) != node.stages.end();
          } else if constexpr (std::is_same_v<Node, AllOf>) {
            return std::all_of(node.terms.begin(), node.terms.end(),
                               [&](const Predicate& term) { return matches(term, index); });
          } else if constexpr (std::is_same_v<Node, AnyOf>) {
            return std::any_of(node.terms.begin(), node.terms.end(),
                               [&](const Predicate& term) { return matches(term, index); });
          } else if constexpr (std::is_same_v<Node, Not>) {
            return !matches(*node.term, index);
          }
        },
        predicate.node);
  }

 private:
  // The text a string test of `field` reads for this tensor.
  std::string_view subject(StringField field, std::size_t index) const {
    return field == StringField::name     ? match_name(index)
           : field == StringField::module ? std::string_view(table_.tensors[index].module)
                                          : std::string_view(table_.tensors[index].source);
  }

  // Calls `visit(field, compiled)` for each compiled regex with named groups that the predicate
  // can bind captures through: under `and` and `or`, never under `not`.
  template <typename Visit>
  void for_each_named_regex(const Predicate& predicate, const Visit& visit) const {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, StringMatch>) {
            if (node.op != MatchOp::regex) return;
            for (const auto& pattern : node.patterns)
              if (const CompiledRegex* compiled = regex(pattern); compiled && !compiled->named.empty()) visit(node.field, *compiled);
          } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
            for (const auto& term : node.terms) for_each_named_regex(term, visit);
          }
        },
        predicate.node);
  }

  void capture(StringField field, const CompiledRegex& compiled, std::size_t index, Captures& out,
               CaptureScratch& groups) const {
    std::string_view text = subject(field, index);
    CaptureMemo* memo = compiled.memo[static_cast<std::size_t>(field)].get();
    if (memo && memo->recall(index, text, compiled.named, out)) return;
    groups.resize(compiled.submatches);
    bool matched = compiled.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                                      groups.data(), static_cast<int>(groups.size()));
    if (memo) memo->keep(index, text, matched, compiled.named, groups);
    if (!matched) return;
    for (const auto& [name, group] : compiled.named)
      if (const auto& found = groups[group]; found.data()) out.bind(name, std::string_view(found.data(), found.size()));
  }

  bool string_matches(MatchOp op, std::string_view subject, const std::string& pattern) const {
    switch (op) {
      case MatchOp::equals: return subject == pattern;
      case MatchOp::starts: return subject.starts_with(pattern);
      case MatchOp::ends: return subject.ends_with(pattern);
      case MatchOp::contains: return subject.find(pattern) != std::string_view::npos;
      case MatchOp::regex: {
        const CompiledRegex* compiled = regex(pattern);
        return compiled && RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), *compiled->re);
      }
    }
    return false;
  }

  bool owner_type_in(std::size_t index, const ModuleTypeIn& test) const {
    auto owner_matches = [&](std::size_t owner) {
      return type_test_matches(test, table_.tensors[owner].module_type, owner_mro_.empty() ? nullptr : owner_mro_[owner]);
    };
    if (owner_matches(index)) return true;
    auto aliases = aliases_.find(index);
    return aliases != aliases_.end() && std::any_of(aliases->second.begin(), aliases->second.end(), owner_matches);
  }

  // A type test none of whose names any module of the table answers to can only be a mistake
  // (a typo, or rules for another model). A test that names one class the model has may list
  // others it lacks: shared rules (stdlib/no_weight_decay.tx) name the norms of many
  // architectures, and real classes differ by a letter (MistralRMSNorm, MixtralRMSNorm).
  void check_type_names(const ModuleTypeIn& node, const SourceSpan& span, Diagnostics& diagnostics) {
    if (node.types.empty() || some_module_answers_to(node)) return;
    const TypeVocabulary& known = vocabulary(node.exact);
    if (known.names.empty()) return;  // a checkpoint's table: no classes to check against
    for (const auto& type : node.types)
      if (known.names.contains(type)) return;
    for (const auto& type : node.types) {
      bool qualified = type.find('.') != std::string::npos;
      std::string hint = suggest(type, qualified ? known.qualified : known.short_names,
                                 "no class of the model is close; the dump's \"modules\" list each module's class");
      if (node.exact && vocabulary(false).names.contains(type))
        hint = fmt::format("'{}' is only a base class here; `type == {}` matches the classes that inherit from it", type,
                           qualified ? fmt::format("\"{}\"", type) : type);
      else if (qualified && table_.module_mro.empty())
        hint = "this dump records no class ancestry, so only short class names match; tools/dump_model.py writes it "
               "(modules[].mro)";
      diagnostics.error(code::unknown_module_type, span,
                        node.exact ? fmt::format("no module's class is '{}'", type)
                                   : fmt::format("no module is a '{}' or inherits from it", type),
                        std::move(hint));
    }
  }

  // Calls visit(class name, ancestry) for every module and then every tensor's owner, until it
  // returns true; whether one did.
  template <typename Visit>
  bool any_module_class(Visit&& visit) const {
    for (const auto& [path, type] : table_.modules)
      if (visit(type, module_mro(table_, path))) return true;
    for (std::size_t i = 0; i < table_.tensors.size(); ++i)
      if (visit(table_.tensors[i].module_type, owner_mro_.empty() ? nullptr : owner_mro_[i])) return true;
    return false;
  }

  // Mostly one of the first modules does: the whole vocabulary is built only for a message.
  bool some_module_answers_to(const ModuleTypeIn& node) const {
    return any_module_class([&](std::string_view type, const std::vector<std::string>* mro) { return type_test_matches(node, type, mro); });
  }

  struct TypeVocabulary {
    std::unordered_set<std::string, StringHash, std::equal_to<>> names;  // every name a module answers to
    std::vector<std::string> short_names, qualified;  // the same, for "did you mean", in table order
  };

  // The names the table's modules answer to (exact: their own classes only), built once.
  const TypeVocabulary& vocabulary(bool exact) {
    TypeVocabulary& out = vocabulary_[exact ? 1 : 0];
    if (vocabulary_built_[exact ? 1 : 0]) return out;
    vocabulary_built_[exact ? 1 : 0] = true;
    // A class is its name and its ancestry; neighbours mostly share one of the last few (a layer
    // alternates Linear and a norm), so those are not visited again (92k tensors: 61k modules and
    // 92k owners, a few dozen classes).
    std::array<std::pair<std::string_view, const std::vector<std::string>*>, 4> recent{};
    std::size_t visits = 0;
    any_module_class([&](std::string_view type, const std::vector<std::string>* mro) {
      for (std::size_t r = 0; r < std::min(visits, recent.size()); ++r)
        if (recent[r].first == type && recent[r].second == mro) return false;
      recent[visits++ % recent.size()] = {type, mro};
      for_each_type_name(type, mro, exact, [&](std::string_view name) {
        if (name.empty() || out.names.contains(name)) return;
        out.names.emplace(name);
        (name.find('.') == std::string_view::npos ? out.short_names : out.qualified).emplace_back(name);
      });
      return false;  // every class
    });
    return out;
  }

  // A path that names no module is a typo more often than not (anemoi's
  // freeze lists): say so, with the closest module paths, in anemoi's words for its configs.
  void check_module_paths(const ModuleUnder& node, const SourceSpan& span, Diagnostics& diagnostics) {
    const ResolvedModulePaths& paths = resolved(node);
    if (table_.modules.empty()) return;
    for (const auto& unknown : paths.unknown) {
      const std::string& path = node.paths[unknown.index];
      std::string message;
      switch (node.semantics) {
        case PathSemantics::dotted_path:
          message = fmt::format("no module is named '{}'{}", path, node.unknown_is_error ? "" : "; it is skipped");
          break;
        case PathSemantics::anemoi_stage:  // FreezingModifierStage's own message
          message = fmt::format("Module '{}' not found{}", path, node.unknown_is_error ? "" : ". SKIPPING freezing.");
          break;
        case PathSemantics::anemoi_legacy:  // train.py's
          message = fmt::format("Submodule {} not found{}. SKIPPING freezing.", path,
                                paths.root.empty() ? "" : fmt::format(" under {}", paths.root));
          break;
        case PathSemantics::anemoi_any_depth:  // anemoi logs "... frozen successfully." all the same
          message = fmt::format("no module is named '{}' at any depth, so nothing is frozen (anemoi before training 0.15 "
                                "still logs \"{} frozen successfully.\")",
                                path, to_upper(path));
          break;
      }
      std::string hint = unknown.hint;
      if (std::size_t untaken = node.paths.size() - paths.stopped_at; node.stops_at_unknown && untaken > 0)
        hint += fmt::format(" (strict: anemoi raises here, after freezing the names before it; {} after it {} trainable)",
                            untaken == 1 ? "the name" : fmt::format("the {} names", untaken), untaken == 1 ? "stays" : "stay");
      diagnostics.report({std::string(code::unknown_module), node.unknown_is_error ? Severity::error : Severity::warning,
                          unknown.index < node.spans.size() ? node.spans[unknown.index] : span, std::move(message), std::move(hint)});
    }
  }

  // A test's paths resolved against the table once, by whichever asks first (prepare() does).
  const ResolvedModulePaths& resolved(const ModuleUnder& node) const {
    auto found = module_paths_.find(&node);
    if (found == module_paths_.end()) found = module_paths_.emplace(&node, resolve_module_paths(node, table_)).first;
    return found->second;
  }

  static std::string to_upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }

  using NamedGroups = std::vector<std::pair<std::string_view, std::size_t>>;

  // One regex's captures on one field, tensor by tensor (see remember_captures): whether it
  // matched and, per named group, the offset and length of its text in the subject: 1 + 2 bytes
  // per named group a tensor (a million tensors, two groups: 5 MB). A subject longer than 254
  // bytes is not kept (asked again, the regex runs again).
  class CaptureMemo {
   public:
    CaptureMemo(std::size_t tensors, std::size_t groups) : stride_(1 + 2 * groups), kept_(tensors * stride_, kUnknown) {}

    // Binds what was kept for the tensor into `out`; false when nothing was.
    bool recall(std::size_t tensor, std::string_view subject, const NamedGroups& named, Captures& out) const {
      const uint8_t* kept = &kept_[tensor * stride_];
      if (kept[0] == kUnknown) return false;
      if (kept[0] == kMatched)
        for (std::size_t g = 0; g < named.size(); ++g)
          if (kept[1 + 2 * g] != kUnset) out.bind(named[g].first, subject.substr(kept[1 + 2 * g], kept[2 + 2 * g]));
      return true;
    }
    void keep(std::size_t tensor, std::string_view subject, bool matched, const NamedGroups& named,
              const std::vector<re2::StringPiece>& groups) {
      if (subject.size() >= kUnset) return;
      uint8_t* kept = &kept_[tensor * stride_];
      kept[0] = matched ? kMatched : kNoMatch;
      if (!matched) return;
      for (std::size_t g = 0; g < named.size(); ++g) {
        const re2::StringPiece& text = groups[named[g].second];
        kept[1 + 2 * g] = text.data() ? static_cast<uint8_t>(text.data() - subject.data()) : kUnset;
        kept[2 + 2 * g] = static_cast<uint8_t>(text.size());
      }
    }

   private:
    static constexpr uint8_t kUnknown = 0, kNoMatch = 1, kMatched = 2, kUnset = 0xFF;
    std::size_t stride_;
    std::vector<uint8_t> kept_;
  };

  struct CompiledRegex {
    std::shared_ptr<const RE2> re;  // null when the pattern did not compile
    // Its named groups in name order, names viewing RE2's own table; captures() asks RE2 for
    // `submatches` groups, enough for the last named one.
    NamedGroups named;
    std::size_t submatches = 0;
    mutable std::array<std::unique_ptr<CaptureMemo>, 3> memo;  // per StringField, once remembered
  };

  void compile(const std::string& pattern, const SourceSpan& span, Diagnostics& diagnostics) {
    if (regexes_.contains(pattern)) return;
    std::string error;
    auto compiled = compile_regex(pattern, error);
    if (!compiled) diagnostics.error(code::invalid_regex, span, fmt::format("invalid regex /{}/: {}", pattern, error));
    CompiledRegex entry;
    if (compiled) {
      for (const auto& [name, group] : compiled->NamedCapturingGroups()) {
        entry.named.emplace_back(name, static_cast<std::size_t>(group));
        entry.submatches = std::max(entry.submatches, static_cast<std::size_t>(group) + 1);
      }
      entry.re = std::move(compiled);
    }
    regexes_.emplace(pattern, std::move(entry));
  }

  // The compiled pattern; nullptr when it did not compile (or prepare() never saw it). Asked once
  // per tensor: the last pattern asked for is answered without hashing it again.
  const CompiledRegex* regex(const std::string& pattern) const {
    if (!last_regex_ || last_pattern_ != pattern) {
      auto found = regexes_.find(pattern);
      if (found == regexes_.end()) return nullptr;
      last_pattern_ = found->first;
      last_regex_ = &found->second;
    }
    return last_regex_->re ? last_regex_ : nullptr;
  }

  const TensorTable& table_;
  const ReferenceShapes* reference_;
  const StageMap* stage_map_ = nullptr;
  std::string strip_prefix_;  // `match names without "..."`
  std::unordered_map<std::size_t, std::vector<std::size_t>> aliases_;  // first of a tie -> its other entries
  std::vector<const std::vector<std::string>*> owner_mro_;  // per tensor, where the dump records ancestry
  TypeVocabulary vocabulary_[2];
  bool vocabulary_built_[2] = {false, false};
  std::unordered_map<std::string, CompiledRegex> regexes_;
  mutable std::string_view last_pattern_;  // a key of regexes_ (its nodes never move)
  mutable const CompiledRegex* last_regex_ = nullptr;
  // Scratch for captures(predicate, ...): one allocation, not one per tensor (that call serves
  // one thread).
  mutable CaptureScratch groups_;
  std::vector<bool> frozen_by_rule_;
  mutable std::unordered_map<const ModuleUnder*, ResolvedModulePaths> module_paths_;  // see resolved()
};


}  // namespace taxon
