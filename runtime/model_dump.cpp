#include "runtime/model_dump.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "runtime/files.hpp"
#include "runtime/input_error.hpp"

namespace taxon {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::string_view kFormat = "model-dump/1";

// simdjson says what failed but not where; nlohmann's slower parser finds the byte.
std::string locate_syntax_error(const std::string& text) {
  try {
    nlohmann::json parsed = nlohmann::json::parse(text);  // throws where simdjson failed
    (void)parsed;
  } catch (const nlohmann::json::parse_error& error) {
    std::size_t byte = std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
    std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte), '\n'));
    std::size_t line_start = text.rfind('\n', byte == 0 ? 0 : byte - 1);
    std::size_t column = line_start == std::string::npos ? byte + 1 : byte - line_start;
    return fmt::format(":{}:{}", line, column);
  }
  return "";
}

class DumpParser {
 public:
  DumpParser(const std::string& path) : path_(path) {}

  TensorTable parse(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    element root;
    if (auto error = parser.parse(padded).get(root))
      throw InputError(code::malformed_dump, fmt::format("{}{}: not valid JSON ({}); a model dump is one JSON object (docs/model-dump.md)",
                                   path_, locate_syntax_error(text), simdjson::error_message(error)));
    object top;
    if (root.get_object().get(top)) fail("the top level must be a JSON object");

    std::string_view format;
    if (top.at_key("format").get_string().get(format))
      fail(fmt::format("\"format\" is missing or not a string; a model dump says \"format\": \"{}\"", kFormat));
    if (format != kFormat)
      fail(fmt::format("unsupported format \"{}\"; this taxon reads \"{}\"", format, kFormat));

    TensorTable table;
    std::string_view model;
    if (!top.at_key("model").get_string().get(model)) table.model = std::string(model);
    read_modules(top, table);
    read_tensors(top, table);
    read_stage_map(top, table);
    return table;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw InputError(code::malformed_dump, fmt::format("{}: {}", path_, message)); }

  [[noreturn]] void fail_tensor(std::size_t index, std::string_view name, const std::string& message) const {
    if (name.empty()) fail(fmt::format("tensors[{}]: {}", index, message));
    fail(fmt::format("tensors[{}] (\"{}\"): {}", index, name, message));
  }

  void read_modules(const object& top, TensorTable& table) {
    element modules;
    if (top.at_key("modules").get(modules)) return;  // optional: a checkpoint's dump has none
    array list;
    if (modules.get_array().get(list)) fail("\"modules\" must be a list of {\"name\", \"type\"} objects");
    std::size_t index = 0;
    for (element entry : list) {
      std::string_view name, type;
      if (entry.at_key("name").get_string().get(name) || entry.at_key("type").get_string().get(type))
        fail(fmt::format("modules[{}]: needs string fields \"name\" and \"type\"", index));
      table.modules.emplace_back(std::string(name), std::string(type));
      read_mro(entry, index, table);
      ++index;
    }
  }

  // Optional (older dumps and TorchScript modules have none): the qualified names of the
  // module's class and of the classes it inherits from, for isinstance semantics.
  void read_mro(const element& entry, std::size_t index, TensorTable& table) const {
    auto found = entry.at_key("mro");
    if (found.error() == simdjson::NO_SUCH_FIELD) return;
    array list;
    if (found.get_array().get(list)) fail(fmt::format("modules[{}]: \"mro\" must be a list of class names", index));
    std::vector<std::string> mro;
    for (element item : list) {
      std::string_view qualified;
      if (item.get_string().get(qualified) || qualified.empty())
        fail(fmt::format("modules[{}]: \"mro\" must list class names (module.Class)", index));
      mro.emplace_back(qualified);
    }
    if (mro.empty()) return;
    std::string_view path = table.modules.back().first;
    table.module_mro.insert_or_assign(std::string(path), std::move(mro));
  }

  void read_tensors(const object& top, TensorTable& table) {
    array tensors;
    if (top.at_key("tensors").get_array().get(tensors)) fail("\"tensors\" is missing or not a list");
    std::vector<std::pair<std::size_t, std::string>> ties;  // (tensor, the name it is tied to), resolved below
    std::size_t index = 0;
    for (element entry : tensors) {
      object fields;
      if (entry.get_object().get(fields)) fail_tensor(index, "", "each tensor must be a JSON object");
      TensorRecord record;
      std::string_view name;
      if (fields.at_key("name").get_string().get(name)) fail_tensor(index, "", "\"name\" is missing or not a string");
      record.name = std::string(name);

      array shape;
      if (fields.at_key("shape").get_array().get(shape)) fail_tensor(index, name, "\"shape\" is missing or not a list");
      for (element dim : shape) {
        int64_t size = 0;
        if (dim.get_int64().get(size) || size < 0) fail_tensor(index, name, "\"shape\" must list sizes >= 0");
        record.shape.push_back(size);
      }
      std::string_view dtype;
      if (fields.at_key("dtype").get_string().get(dtype)) fail_tensor(index, name, "\"dtype\" is missing or not a string");
      record.dtype = std::string(dtype);

      std::string_view kind = "parameter";
      if (auto found = fields.at_key("kind"); found.error() != simdjson::NO_SUCH_FIELD) {
        if (found.get_string().get(kind) || (kind != "parameter" && kind != "buffer" && kind != "unknown"))
          fail_tensor(index, name, "\"kind\" must be \"parameter\", \"buffer\" or \"unknown\"");
      }
      record.kind = kind == "buffer" ? TensorKind::buffer : kind == "unknown" ? TensorKind::unknown : TensorKind::parameter;
      if (record.kind == TensorKind::unknown) table.has_unknown_kinds = true;

      record.module = optional_string(fields, "module", index, name);
      record.module_type = optional_string(fields, "module_type", index, name);
      if (!record.module_type.empty()) table.has_module_types = true;
      record.requires_grad = optional_bool(fields, "requires_grad", true, index, name);
      record.persistent = optional_bool(fields, "persistent", true, index, name);

      std::string tied = optional_string(fields, "tied_to", index, name);
      if (!tied.empty()) ties.emplace_back(index, std::move(tied));
      table.tensors.push_back(std::move(record));
      ++index;
    }
    // Once every record is in place: views of their names stay valid only now (short names
    // live inside the records, which move while the table grows).
    if (ties.empty()) return;
    std::unordered_map<std::string_view, std::size_t> first_index;
    for (std::size_t i = 0; i < table.tensors.size(); ++i) first_index.emplace(table.tensors[i].name, i);
    for (const auto& [tensor, tied] : ties) {
      auto found = first_index.find(tied);
      if (found == first_index.end() || found->second >= tensor)
        fail_tensor(tensor, table.tensors[tensor].name,
                    fmt::format("\"tied_to\" names \"{}\", which is not an earlier tensor", tied));
      table.tensors[tensor].tied_to = found->second;
    }
  }

  std::string optional_string(const object& fields, const char* key, std::size_t index, std::string_view name) const {
    auto found = fields.at_key(key);
    if (found.error() == simdjson::NO_SUCH_FIELD) return {};
    if (found.is_null()) return {};
    std::string_view value;
    if (found.get_string().get(value)) fail_tensor(index, name, fmt::format("\"{}\" must be a string", key));
    return std::string(value);
  }

  bool optional_bool(const object& fields, const char* key, bool fallback, std::size_t index, std::string_view name) const {
    auto found = fields.at_key(key);
    if (found.error() == simdjson::NO_SUCH_FIELD) return fallback;
    bool value = fallback;
    if (found.get_bool().get(value)) fail_tensor(index, name, fmt::format("\"{}\" must be true or false", key));
    return value;
  }

  void read_stage_map(const object& top, TensorTable& table) {
    element metadata;
    if (top.at_key("parameter_groups_metadata").get(metadata)) return;
    object stages;
    if (metadata.at_key("stages").get_object().get(stages))
      fail("\"parameter_groups_metadata\" must hold \"stages\": {STAGE: [patterns]}");
    StageMap map;
    for (auto [stage, patterns_element] : stages) {
      array patterns;
      if (patterns_element.get_array().get(patterns))
        fail(fmt::format("parameter_groups_metadata.stages.{} must be a list of name patterns", stage));
      std::vector<std::string> list;
      for (element pattern : patterns) {
        std::string_view text;
        if (pattern.get_string().get(text))
          fail(fmt::format("parameter_groups_metadata.stages.{} must list strings", stage));
        list.emplace_back(text);
      }
      map.stages.emplace_back(std::string(stage), std::move(list));
    }
    table.stage_map = std::move(map);
  }

  std::string path_;
};

}  // namespace

TensorTable parse_model_dump(const std::string& text, const std::string& path) { return DumpParser(path).parse(text); }

TensorTable read_model_dump(const std::string& path) { return parse_model_dump(read_file(path), path); }

ReferenceShapes read_reference(const std::string& path) { return reference_shapes(read_model_dump(path), path); }

ReferenceShapes reference_shapes(const TensorTable& table, std::string source) {
  ReferenceShapes reference;
  reference.source = std::move(source);
  for (const auto& tensor : table.tensors)
    if (tensor.kind == TensorKind::parameter || tensor.persistent) reference.shapes.emplace(tensor.name, tensor.shape);
  return reference;
}

}  // namespace taxon
