// linnaeus filter trees (linnaeus/utils/param_filters.py) -> predicates.
#include <algorithm>

#include <fmt/format.h>

#include "engine/regex.hpp"
#include "grammar/linnaeus_yaml.hpp"
#include "grammar/yaml_support.hpp"

namespace taxon::yaml {
namespace {

const std::vector<std::string> kFilterTypes{"name",           "dimension",   "layer_type", "convolutional",
                                            "initialization", "stage_based", "and",        "or",
                                            "not",            "all_except"};

const std::vector<std::string> kMatchTypes{"contains", "startswith", "endswith", "regex"};

// A predicate that matches nothing, standing in for a filter that failed to lower.
Predicate invalid(const SourceSpan& span) { return Predicate{Constant{false}, span}; }

// Repeats of a filter no larger than this are copied from its first lowering; larger ones are
// walked again (their parts are repeats too), which bounds the copies kept to this size each.
constexpr std::size_t kLargestCopiedRepeat = 1024;

struct FilterLowering {
  Reader& reader;
  std::size_t depth = 0;    // filters above the one being lowered
  std::size_t deepest = 0;  // the deepest filter level reached so far

  Predicate lower(const YAML::Node& node) {
    if (const auto* seen = reader.lowered_before(node, depth); seen && reader.spend_repeat(seen->nodes)) {
      deepest = std::max(deepest, depth + seen->levels);
      return seen->predicate;
    }
    std::size_t level = depth + 1, deepest_outside = deepest, spent_before = reader.spent();
    deepest = level;
    if (reader.too_deep(node, level) || !reader.spend(node)) {
      deepest = std::max(deepest_outside, level);
      return invalid(reader.span(node));
    }
    ++depth;
    Predicate predicate = lower_here(node);
    --depth;
    std::size_t levels = deepest - depth, nodes = reader.spent() - spent_before;
    // Kept only when lowered within the budget; when cut short by the depth limit, for this depth only.
    if (reader.spent() <= kMaxExpandedNodes && nodes <= kLargestCopiedRepeat)
      reader.remember_lowered(node, {predicate, nodes, levels,
                                     deepest <= Reader::kMaxYamlDepth ? Reader::LoweredFilter::kAnyDepth : depth});
    deepest = std::max(deepest_outside, deepest);
    return predicate;
  }

  Predicate lower_here(const YAML::Node& node) {
    if (!node.IsMap()) {
      reader.diagnostics().error(code::wrong_value_type, reader.span(node),
                                 fmt::format("a filter must be a mapping with TYPE, not {}", describe(node)),
                                 "write e.g. `{TYPE: name, MATCH_TYPE: startswith, PATTERNS: [\"head.\"]}`");
      return invalid(reader.span(node));
    }
    YAML::Node type_node = Reader::get(node, "TYPE");
    if (!type_node.IsDefined()) {
      reader.missing_key(node, "TYPE", reader.span(node), "a filter", fmt::format("TYPE is one of: {}", fmt::join(kFilterTypes, ", ")));
      return invalid(reader.span(node));
    }
    auto type_text = reader.scalar(type_node, "TYPE");
    if (!type_text) return invalid(reader.span(node));
    std::string type = lowercase(*type_text);  // linnaeus lower-cases TYPE
    SourceSpan span = reader.span(type_node);

    if (type == "name") return name_filter(node, span);
    if (type == "dimension") return dimension_filter(node, span);
    if (type == "layer_type") return layer_type_filter(node, span);
    if (type == "convolutional") return convolutional_filter(node, span);
    if (type == "initialization") {
      reader.check_keys(node, {"TYPE"}, "an initialization filter");
      return Predicate{NewlyInitialized{}, span};
    }
    if (type == "stage_based") return stage_filter(node, span);
    if (type == "and" || type == "or") return combination(node, span, type == "and");
    if (type == "not" || type == "all_except") return negation(node, span, type == "not" ? "FILTER" : "EXCEPT");

    reader.diagnostics().error(code::unknown_filter_type, span, fmt::format("unknown filter TYPE '{}'", *type_text),
                               suggest(type, kFilterTypes, fmt::format("TYPE is one of: {}", fmt::join(kFilterTypes, ", "))));
    return invalid(span);
  }

  Predicate name_filter(const YAML::Node& node, const SourceSpan& span) {
    reader.check_keys(node, {"TYPE", "PATTERNS", "MATCH_TYPE"}, "a name filter");
    MatchOp op = MatchOp::contains;  // linnaeus's default
    bool ok = true;
    if (YAML::Node match_node = Reader::get(node, "MATCH_TYPE"); match_node.IsDefined()) {
      auto match_text = reader.scalar(match_node, "MATCH_TYPE");
      std::string match = match_text ? lowercase(*match_text) : "";
      if (match == "contains") op = MatchOp::contains;
      else if (match == "startswith") op = MatchOp::starts;
      else if (match == "endswith") op = MatchOp::ends;
      else if (match == "regex") op = MatchOp::regex;
      else if (match_text) {
        reader.diagnostics().error(code::unknown_match_type, reader.span(match_node),
                                   fmt::format("unknown MATCH_TYPE '{}'", *match_text),
                                   suggest(match, kMatchTypes, fmt::format("MATCH_TYPE is one of: {}", fmt::join(kMatchTypes, ", "))));
        ok = false;
      } else {
        ok = false;
      }
    }
    YAML::Node patterns_node = Reader::get(node, "PATTERNS");
    if (!patterns_node.IsDefined()) {
      reader.missing_key(node, "PATTERNS", span, "a name filter", "write e.g. `PATTERNS: [\"head.\", \"meta_\"]`");
      return invalid(span);
    }
    auto patterns = reader.string_list(patterns_node, "PATTERNS");
    if (!patterns || !ok) return invalid(span);
    if (op == MatchOp::regex) {
      std::size_t index = 0;
      for (const auto& item : patterns_node) {
        if (auto problem = check_regex((*patterns)[index])) {
          reader.diagnostics().error(problem->code, reader.span(item), problem->message, problem->hint);
          ok = false;
        }
        ++index;
      }
      if (!ok) return invalid(span);
    }
    return Predicate{StringMatch{StringField::name, op, std::move(*patterns)}, span};
  }

  Predicate dimension_filter(const YAML::Node& node, const SourceSpan& span) {
    reader.check_keys(node, {"TYPE", "DIMENSIONS"}, "a dimension filter");
    YAML::Node dims = Reader::get(node, "DIMENSIONS");
    if (!dims.IsDefined()) {
      reader.missing_key(node, "DIMENSIONS", span, "a dimension filter", "write e.g. `DIMENSIONS: [1]` for biases and norm weights");
      return invalid(span);
    }
    auto ranks = reader.int_list(dims, "DIMENSIONS");
    if (!ranks) return invalid(span);
    return Predicate{RankIn{std::move(*ranks)}, span};
  }

  std::optional<Predicate> layer_types(const YAML::Node& value, const SourceSpan& span) {
    auto types = reader.string_list(value, "LAYER_TYPES");
    if (!types) return std::nullopt;
    // linnaeus compares module.__class__.__name__: the class itself, never one it inherits from.
    return Predicate{ModuleTypeIn{std::move(*types), /*exact=*/true}, span};
  }

  Predicate layer_type_filter(const YAML::Node& node, const SourceSpan& span) {
    reader.check_keys(node, {"TYPE", "LAYER_TYPES"}, "a layer_type filter");
    YAML::Node value = Reader::get(node, "LAYER_TYPES");
    if (!value.IsDefined()) {
      reader.missing_key(node, "LAYER_TYPES", span, "a layer_type filter", "write e.g. `LAYER_TYPES: [LayerNorm, BatchNorm2d]`");
      return invalid(span);
    }
    return layer_types(value, span).value_or(invalid(span));
  }

  // Rank 4, and the optional name (contains) and layer-type conditions.
  Predicate convolutional_filter(const YAML::Node& node, const SourceSpan& span) {
    reader.check_keys(node, {"TYPE", "NAME_PATTERNS", "LAYER_TYPES"}, "a convolutional filter");
    AllOf all{{Predicate{RankIn{{4}}, span}}};
    if (YAML::Node names = Reader::get(node, "NAME_PATTERNS"); names.IsDefined()) {
      auto patterns = reader.string_list(names, "NAME_PATTERNS");
      if (!patterns) return invalid(span);
      all.terms.push_back(Predicate{StringMatch{StringField::name, MatchOp::contains, std::move(*patterns)}, reader.span(names)});
    }
    if (YAML::Node types = Reader::get(node, "LAYER_TYPES"); types.IsDefined()) {
      auto predicate = layer_types(types, reader.span(types));
      if (!predicate) return invalid(span);
      all.terms.push_back(std::move(*predicate));
    }
    return Predicate{std::move(all), span};
  }

  Predicate stage_filter(const YAML::Node& node, const SourceSpan& span) {
    reader.check_keys(node, {"TYPE", "STAGES"}, "a stage_based filter");
    YAML::Node value = Reader::get(node, "STAGES");
    if (!value.IsDefined()) {
      reader.missing_key(node, "STAGES", span, "a stage_based filter", "write e.g. `STAGES: [0, 1]`");
      return invalid(span);
    }
    auto stages = reader.string_list(value, "STAGES");
    if (!stages) return invalid(span);
    return Predicate{StageIn{std::move(*stages)}, span};
  }

  Predicate combination(const YAML::Node& node, const SourceSpan& span, bool all) {
    reader.check_keys(node, {"TYPE", "FILTERS"}, all ? "an and filter" : "an or filter");
    YAML::Node filters = Reader::get(node, "FILTERS");
    if (!filters.IsDefined()) {
      reader.missing_key(node, "FILTERS", span, all ? "an and filter" : "an or filter", "write `FILTERS:` and a list of filters");
      return invalid(span);
    }
    if (!filters.IsSequence()) {
      reader.diagnostics().error(code::wrong_value_type, reader.span(filters),
                                 fmt::format("FILTERS must be a list of filters, not {}", describe(filters)),
                                 "write each filter as a list item: `- {TYPE: ...}`");
      return invalid(span);
    }
    std::vector<Predicate> terms;
    for (const auto& item : filters) terms.push_back(lower(item));
    if (all) return Predicate{AllOf{std::move(terms)}, span};
    return Predicate{AnyOf{std::move(terms)}, span};
  }

  Predicate negation(const YAML::Node& node, const SourceSpan& span, std::string_view key) {
    std::string where = key == "FILTER" ? "a not filter" : "an all_except filter";
    reader.check_keys(node, {"TYPE", std::string(key)}, where);
    YAML::Node inner = Reader::get(node, key);
    if (!inner.IsDefined()) {
      reader.missing_key(node, key, span, where, fmt::format("write `{}:` and the filter to negate", key));
      return invalid(span);
    }
    return Predicate{Not{lower(inner)}, span};
  }
};

}  // namespace

Predicate lower_linnaeus_filter(const YAML::Node& node, Reader& reader) { return FilterLowering{reader, 0}.lower(node); }

}  // namespace taxon::yaml
