#include "grammar/yaml_support.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

namespace taxon::yaml {

std::optional<YAML::Node> parse_document(const SourceRef& source, Diagnostics& diagnostics) {
  if (!check_text(source, diagnostics)) return std::nullopt;
  try {
    return YAML::Load(source->text);
  } catch (const YAML::DeepRecursion& error) {
    SourceSpan span{source, static_cast<uint32_t>(error.mark.line + 1), static_cast<uint32_t>(error.mark.column + 1), 1};
    diagnostics.error(code::yaml_syntax, span, fmt::format("YAML nested more than {} levels deep", error.depth()),
                      "rule files never need such depth; flatten the nesting (an `or` takes any number of filters)");
    return std::nullopt;
  } catch (const YAML::Exception& error) {
    SourceSpan span{source, static_cast<uint32_t>(error.mark.line + 1), static_cast<uint32_t>(error.mark.column + 1), 1};
    if (error.mark.is_null()) span.line = 0;
    diagnostics.error(code::yaml_syntax, span, fmt::format("YAML syntax error: {}", error.msg),
                      "fix the YAML syntax at this position (indentation, a missing ':' or an unclosed quote)");
    return std::nullopt;
  }
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return fmt::format("'{}'", node.Scalar());
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

SourceSpan Reader::span(const YAML::Mark& mark, std::size_t length) const {
  if (mark.is_null()) return SourceSpan{source_, 0, 0, 1};
  return SourceSpan{source_, static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1),
                    static_cast<uint32_t>(std::max<std::size_t>(length, 1))};
}

SourceSpan Reader::span(const YAML::Node& node) const {
  std::size_t length = 1;
  if (node.IsScalar()) length = node.Scalar().size() + (node.Tag() == "!" ? 2 : 0);  // quoted: the quotes too
  return span(node.Mark(), length);
}

SourceSpan Reader::key_span(const YAML::Node& map, std::string_view key) const {
  if (map.IsMap())
    for (auto it = map.begin(); it != map.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key) return span(it->first);
  return span(map);
}

YAML::Node Reader::get(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  return YAML::Node(YAML::NodeType::Undefined);
}

void Reader::missing_key(const YAML::Node& map, std::string_view key, const SourceSpan& at, std::string_view where,
                         std::string_view hint) {
  std::string lowered = lowercase(key);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && lowercase(it->first.Scalar()) == lowered) {
      diagnostics_.error(code::missing_key, span(it->first),
                         fmt::format("{} needs the key {}; found '{}'", where, key, it->first.Scalar()),
                         fmt::format("keys are case-sensitive: write {}", key));
      return;
    }
  }
  diagnostics_.error(code::missing_key, at, fmt::format("{} needs the key {}", where, key), std::string(hint));
}

std::optional<std::string> Reader::scalar(const YAML::Node& value, std::string_view key) {
  if (value.IsScalar()) return value.Scalar();
  diagnostics_.error(code::wrong_value_type, span(value), fmt::format("{} must be a single value, not {}", key, describe(value)),
                     fmt::format("write `{}: value`", key));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::string_list(const YAML::Node& value, std::string_view key) {
  if (!value.IsSequence()) {
    std::string example = value.IsScalar() ? fmt::format("[\"{}\"]", value.Scalar()) : "[\"...\", \"...\"]";
    diagnostics_.error(code::wrong_value_type, span(value), fmt::format("{} must be a list of strings, not {}", key, describe(value)),
                       fmt::format("write `{}: {}`", key, example));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : value) {
    if (!item.IsScalar()) {
      diagnostics_.error(code::wrong_value_type, span(item), fmt::format("{} must list strings; this item is {}", key, describe(item)),
                         "write each pattern as a plain or quoted string");
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<int64_t>> Reader::int_list(const YAML::Node& value, std::string_view key) {
  if (!value.IsSequence()) {
    diagnostics_.error(code::wrong_value_type, span(value), fmt::format("{} must be a list of integers, not {}", key, describe(value)),
                       fmt::format("write `{}: [1, 2]`", key));
    return std::nullopt;
  }
  std::vector<int64_t> out;
  bool ok = true;
  for (const auto& item : value) {
    int64_t number = 0;
    const std::string& text = item.IsScalar() ? item.Scalar() : std::string();
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (!item.IsScalar() || error != std::errc() || end != text.data() + text.size() || text.empty()) {
      diagnostics_.error(code::wrong_value_type, span(item), fmt::format("{} must list integers; this item is {}", key, describe(item)),
                         "write tensor ranks as whole numbers, e.g. 1 for biases and norms, 4 for convolution kernels");
      ok = false;
      continue;
    }
    out.push_back(number);
  }
  if (!ok) return std::nullopt;
  return out;
}

void Reader::check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, std::string_view where) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (key == tolerated_key_ && map.is(tolerated_map_)) continue;
    diagnostics_.warning(code::unknown_key, span(it->first), fmt::format("{} has no key '{}'; it is ignored", where, key),
                         suggest(key, allowed, fmt::format("{} takes: {}", where, fmt::join(allowed, ", "))));
  }
}

namespace {

// PyYAML (YAML 1.1) reads these plain scalars as booleans and null.
std::optional<bool> yaml11_bool(std::string_view text) {
  static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  for (const char* word : kTrue)
    if (text == word) return true;
  for (const char* word : kFalse)
    if (text == word) return false;
  return std::nullopt;
}

bool yaml11_null(std::string_view text) { return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL"; }

}  // namespace

bool Reader::spend(const YAML::Node& node) const {
  if (++expanded_ <= kMaxExpandedNodes) return true;
  if (expanded_ == kMaxExpandedNodes + 1)
    diagnostics_.error(code::expands_too_far, span(node),
                       fmt::format("the rules expand to more than {} filters and values here", kMaxExpandedNodes),
                       "YAML aliases that repeat each other multiply; write the filter once and refer to it fewer times");
  return false;
}

bool Reader::spend_repeat(std::size_t nodes) const {
  if (expanded_ + nodes > kMaxExpandedNodes) return false;
  expanded_ += nodes;
  return true;
}

const Reader::LoweredFilter* Reader::lowered_before(const YAML::Node& node, std::size_t depth) const {
  if (node.Mark().is_null()) return nullptr;
  auto found = lowered_filters_.find(static_cast<std::size_t>(node.Mark().pos));
  if (found == lowered_filters_.end()) return nullptr;
  for (const auto& [seen, lowered] : found->second) {
    if (!seen.is(node)) continue;
    bool holds = lowered.only_at_depth == LoweredFilter::kAnyDepth ? depth + lowered.levels <= kMaxYamlDepth
                                                                    : depth == lowered.only_at_depth;
    if (holds) return &lowered;
  }
  return nullptr;
}

void Reader::remember_lowered(const YAML::Node& node, LoweredFilter lowered) {
  if (node.Mark().is_null()) return;
  lowered_filters_[static_cast<std::size_t>(node.Mark().pos)].emplace_back(node, std::move(lowered));
}

bool Reader::too_deep(const YAML::Node& node, std::size_t depth) const {
  if (depth <= kMaxYamlDepth) return false;
  if (!reported_depth_)
    diagnostics_.error(code::nesting_too_deep, span(node), fmt::format("nested more than {} levels deep", kMaxYamlDepth),
                       "rule files never need such depth; an alias inside the node it names (`a: &a [*a]`) repeats forever");
  reported_depth_ = true;
  return true;
}

OptionValue Reader::option_value(const YAML::Node& value, std::size_t depth) const {
  if (too_deep(value, depth) || !spend(value)) return {};
  switch (value.Type()) {
    case YAML::NodeType::Sequence: {
      OptionValue::List list;
      for (const auto& item : value) list.push_back(option_value(item, depth + 1));
      return {std::move(list)};
    }
    case YAML::NodeType::Map: {
      OptionValue::Map map;
      for (auto it = value.begin(); it != value.end(); ++it)
        map.push_back({it->first.IsScalar() ? it->first.Scalar() : describe(it->first), option_value(it->second, depth + 1)});
      return {std::move(map)};
    }
    case YAML::NodeType::Scalar: break;
    default: return {};
  }
  const std::string& text = value.Scalar();
  if (value.Tag() != "?") return {text};  // quoted: a string whatever it spells
  if (yaml11_null(text)) return {};
  if (auto flag = yaml11_bool(text)) return {*flag};
  int64_t integer = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (error == std::errc() && end == text.data() + text.size()) return {integer};
  char* parsed_end = nullptr;
  double number = std::strtod(text.c_str(), &parsed_end);
  if (parsed_end == text.c_str() + text.size() && !text.empty()) {
    if (std::isinf(number) && text.find_first_of("iI") == std::string::npos)  // 1e999, not .inf
      diagnostics_.error(code::wrong_value_type, span(value), fmt::format("{} is out of range for a number", text),
                         "write a number a double can hold (at most about 1.8e308)");
    return {number};
  }
  return {text};
}

}  // namespace taxon::yaml
