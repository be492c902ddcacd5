// Helpers shared by the YAML front ends: spans from yaml-cpp marks, typed
// reads of scalars and lists that report mistakes instead of throwing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"

namespace taxon::yaml {

// The document, or nullopt after reporting the syntax error (T0101).
std::optional<YAML::Node> parse_document(const SourceRef& source, Diagnostics& diagnostics);

class Reader {
 public:
  Reader(SourceRef source, Diagnostics& diagnostics) : source_(std::move(source)), diagnostics_(diagnostics) {}

  SourceSpan span(const YAML::Node& node) const;
  SourceSpan span(const YAML::Mark& mark, std::size_t length) const;
  Diagnostics& diagnostics() const { return diagnostics_; }
  const SourceRef& source() const { return source_; }

  // The value under `key` of a mapping, or an undefined node. Never inserts.
  static YAML::Node get(const YAML::Node& map, std::string_view key);

  // The span of `key` itself in a mapping (not of its value), or of the map.
  SourceSpan key_span(const YAML::Node& map, std::string_view key) const;

  // Reports T0203 at `at` (naming a differently-cased key found instead).
  void missing_key(const YAML::Node& map, std::string_view key, const SourceSpan& at, std::string_view where,
                   std::string_view hint);

  // Typed reads; each reports T0204 at the value and returns nullopt on a mismatch.
  std::optional<std::string> scalar(const YAML::Node& value, std::string_view key);
  std::optional<std::vector<std::string>> string_list(const YAML::Node& value, std::string_view key);
  std::optional<std::vector<int64_t>> int_list(const YAML::Node& value, std::string_view key);

  // Lets `key` stand in `map` beside the keys check_keys allows (a root
  // filter tree may carry the stage map).
  void tolerate_at(const YAML::Node& map, std::string key) {
    tolerated_map_ = map;
    tolerated_key_ = std::move(key);
  }

  // Warns (T0205) about keys outside `allowed`, with "did you mean".
  void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, std::string_view where);

  // A group option's value, typed the way YAML 1.1 (PyYAML) types plain scalars.
  OptionValue option_value(const YAML::Node& value, std::size_t depth = 0) const;

  // True, reporting T0104 once, when a walk is `depth` levels down, past kMaxYamlDepth: an alias
  // inside the node it names (`a: &a [*a]`) is a YAML document of infinite depth.
  bool too_deep(const YAML::Node& node, std::size_t depth) const;
  static constexpr std::size_t kMaxYamlDepth = 100;

  // Counts one more filter or value lowered; past kMaxExpandedNodes (aliases can repeat a subtree
  // exponentially often) reports T0106 once and returns false: stop descending.
  bool spend(const YAML::Node& node) const;

  // A filter lowered before, found again through an alias: what it lowered to, how many nodes it
  // spent and how many filter levels it spans. Repeats are taken from here instead of lowered again,
  // so an alias bomb costs its budget in copies, not in lowerings (each with its diagnostics).
  // One cut short by the depth limit stands for the node only at the depth it was lowered at.
  struct LoweredFilter {
    static constexpr std::size_t kAnyDepth = static_cast<std::size_t>(-1);
    Predicate predicate;
    std::size_t nodes = 0;
    std::size_t levels = 0;
    std::size_t only_at_depth = kAnyDepth;
  };
  // The lowering of `node` that holds `depth` filters down, if there is one.
  const LoweredFilter* lowered_before(const YAML::Node& node, std::size_t depth) const;
  void remember_lowered(const YAML::Node& node, LoweredFilter lowered);
  // Spends `nodes` at once when all of them fit in what is left; otherwise spends nothing and
  // returns false (the caller walks the node, so the budget runs out where it always did).
  bool spend_repeat(std::size_t nodes) const;
  std::size_t spent() const { return expanded_; }

 private:
  SourceRef source_;
  Diagnostics& diagnostics_;
  YAML::Node tolerated_map_;
  std::string tolerated_key_;
  mutable std::size_t expanded_ = 0;
  // By the node's offset in the text; the nodes are kept to tell apart two that start at one offset.
  std::unordered_map<std::size_t, std::vector<std::pair<YAML::Node, LoweredFilter>>> lowered_filters_;
  mutable bool reported_depth_ = false;
};

std::string describe(const YAML::Node& node);  // "a mapping", "a list", "the scalar 'x'"
std::string lowercase(std::string_view text);

}  // namespace taxon::yaml
