#include "runtime/model_dump.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "runtime/input_error.hpp"
#include "runtime/mapped_file.hpp"

namespace taxon {
namespace {

namespace ondemand = simdjson::ondemand;

constexpr std::string_view kFormat = "model-dump/1";

std::string no_format_message() {
  return fmt::format("\"format\" is missing or not a string; a model dump says \"format\": \"{}\"", kFormat);
}

// simdjson says what failed but not where; nlohmann's slower parser finds the byte.
std::string locate_syntax_error(std::string_view text) {
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

// How one optional field of a tensor or module entry was found.
enum class Found : uint8_t { missing, ok, bad };

// The fields of one `tensors[]` entry as read, checked afterwards in a fixed order so that a
// message does not depend on the order the writer put the keys in.
struct TensorFields {
  Found name = Found::missing, shape = Found::missing, dtype = Found::missing, kind = Found::missing;
  Found module = Found::missing, module_type = Found::missing, requires_grad = Found::missing;
  Found persistent = Found::missing, tied_to = Found::missing;
  std::string_view name_text, dtype_text, kind_text = "parameter", module_text, module_type_text, tied_text;
  bool requires_grad_value = true, persistent_value = true;
  std::array<int64_t, 16> dims{};
  std::size_t rank = 0;
  bool shape_too_long = false;
  std::vector<int64_t> long_shape;  // only for shapes of more than 16 dimensions
};

// The dump is read in one pass of simdjson's on-demand parser over a memory map of the file:
// strings are viewed where the parser unescaped them and copied once, into the table. Any error
// is first checked against the whole text with the validating parser, so that a file that is
// not JSON is reported as such, with its line and column, whatever the reader met first.
class DumpParser {
 public:
  DumpParser(std::string_view text, std::size_t capacity, const std::string& path)
      : text_(text), capacity_(capacity), path_(path) {}

  // The text is a private mapping of the file (page-aligned): pages the parser has gone past are
  // handed back to the kernel as it goes, so a big dump is not resident whole beside the records
  // made from it. The parser only moves forward; a clean page of a private file mapping that is
  // read again (the validating parser locating a syntax error) faults back in from the file.
  void release_as_read() { release_as_read_ = true; }

  TensorTable parse() {
    ondemand::parser parser;
    ondemand::document document;
    if (auto error = parser.iterate(text_.data(), text_.size(), capacity_).get(document)) fail_json(error, "");
    document_ = &document;
    ondemand::object top;
    if (auto error = document.get_object().get(top)) fail_json(error, "the top level must be a JSON object");

    TensorTable table;
    bool format_seen = false, tensors_seen = false;
    for (auto entry : top) {
      ondemand::field field;
      std::string_view key;
      if (auto error = std::move(entry).get(field)) fail_json(error, "");
      if (auto error = field.unescaped_key().get(key)) fail_json(error, "");
      ondemand::value value = field.value();
      if (key == "format") {
        std::string_view format;
        if (auto error = value.get_string().get(format))
          fail_json(error, no_format_message());
        if (format != kFormat) fail(fmt::format("unsupported format \"{}\"; this taxon reads \"{}\"", format, kFormat));
        format_seen = true;
      } else if (key == "model") {
        std::string_view model;
        if (!value.get_string().get(model)) table.model = std::string(model);
      } else if (key == "modules") {
        read_modules(value, table);
      } else if (key == "tensors") {
        read_tensors(value, table);
        tensors_seen = true;
      } else if (key == "parameter_groups_metadata") {
        read_stage_map(value, table);
      }
    }
    if (const char* rest = nullptr; !document.current_location().get(rest)) fail_json(simdjson::TRAILING_CONTENT, "");
    if (!format_seen) fail(no_format_message());
    if (!tensors_seen) fail("\"tensors\" is missing or not a list");
    resolve_ties(table);
    return table;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    check_json();
    throw InputError(code::malformed_dump, fmt::format("{}: {}", path_, message));
  }

  // A reader error: the text's own syntax error when it has one, else `message` (the field
  // that is not what the format says), else simdjson's words.
  [[noreturn]] void fail_json(simdjson::error_code error, const std::string& message) const {
    check_json();
    if (!message.empty()) fail(message);
    not_json(error, "");
  }

  void check_json() const {
    simdjson::dom::parser validator;
    if (auto error = validator.parse(simdjson::padded_string(text_)).error()) not_json(error, locate_syntax_error(text_));
  }

  // `place`: ":LINE:COLUMN" where the validating parser found it, else "".
  [[noreturn]] void not_json(simdjson::error_code error, const std::string& place) const {
    throw InputError(code::malformed_dump, fmt::format("{}{}: not valid JSON ({}); a model dump is one JSON object (docs/model-dump.md)",
                                                       path_, place, simdjson::error_message(error)));
  }

  [[noreturn]] void fail_tensor(std::size_t index, std::string_view name, const std::string& message) const {
    if (name.empty()) fail(fmt::format("tensors[{}]: {}", index, message));
    fail(fmt::format("tensors[{}] (\"{}\"): {}", index, name, message));
  }

  void read_modules(ondemand::value& value, TensorTable& table) {
    ondemand::array list;
    if (auto error = value.get_array().get(list)) fail_json(error, "\"modules\" must be a list of {\"name\", \"type\"} objects");
    std::size_t index = 0;
    for (auto item : list) {
      ondemand::object entry;
      if (auto error = item.get_object().get(entry))
        fail_json(error, fmt::format("modules[{}]: needs string fields \"name\" and \"type\"", index));
      Found name = Found::missing, type = Found::missing;
      std::string_view name_text, type_text, alias_text;
      Found alias = Found::missing;
      std::vector<std::string> mro;
      for (auto member : entry) {
        ondemand::field field;
        std::string_view key;
        if (auto error = std::move(member).get(field)) fail_json(error, "");
        if (auto error = field.unescaped_key().get(key)) fail_json(error, "");
        if (key == "name") {
          name = read_string_field(field.value(), name_text);
        } else if (key == "type") {
          type = read_string_field(field.value(), type_text);
        } else if (key == "mro") {
          mro = read_mro(field.value(), index);
        } else if (key == "alias_of") {
          alias = read_optional_string(field.value(), alias_text);
          if (alias == Found::bad) fail(fmt::format("modules[{}]: \"alias_of\" must be the module's first path, a string", index));
        }
        // The strings viewed above live in the text or the parser's buffer, which later strings do not overwrite.
      }
      if (name != Found::ok || type != Found::ok) fail(fmt::format("modules[{}]: needs string fields \"name\" and \"type\"", index));
      table.add_module(name_text, type_text);
      if (!mro.empty()) table.module_mro.insert_or_assign(std::string(name_text), std::move(mro));
      if (alias == Found::ok) table.module_alias_of.insert_or_assign(std::string(name_text), std::string(alias_text));
      ++index;
    }
  }

  // Optional (older dumps and TorchScript modules have none): the qualified names of the
  // module's class and of the classes it inherits from, for isinstance semantics.
  std::vector<std::string> read_mro(ondemand::value value, std::size_t index) const {
    ondemand::array list;
    if (auto error = value.get_array().get(list)) fail_json(error, fmt::format("modules[{}]: \"mro\" must be a list of class names", index));
    std::vector<std::string> mro;
    for (auto item : list) {
      std::string_view qualified;
      if (item.get_string().get(qualified) || qualified.empty())
        fail(fmt::format("modules[{}]: \"mro\" must list class names (module.Class)", index));
      mro.emplace_back(qualified);
    }
    return mro;
  }

  void read_tensors(ondemand::value& value, TensorTable& table) {
    ondemand::array tensors;
    if (auto error = value.get_array().get(tensors)) fail_json(error, "\"tensors\" is missing or not a list");
    std::size_t count = 0;
    if (!tensors.count_elements().get(count)) table.tensors.reserve(count);
    std::size_t index = 0;
    for (auto item : tensors) {
      ondemand::object entry;
      if (auto error = item.get_object().get(entry)) fail_json(error, fmt::format("tensors[{}]: each tensor must be a JSON object", index));
      TensorFields fields;
      for (auto member : entry) {
        ondemand::field field;
        if (auto error = std::move(member).get(field)) fail_json(error, "");
        read_tensor_field(field.key(), field.value(), fields);
      }
      table.tensors.push_back(make_record(fields, index, table));
      ++index;
      if (release_as_read_ && index % kReleaseEvery == 0) release_read_pages();
    }
  }

  // A string as a view of the text when it has no escapes (a dump's names never do), which
  // spares copying it into the parser's buffer; else as simdjson unescapes it.
  static bool read_string(ondemand::value value, std::string_view& out) {
    std::string_view token = value.raw_json_token();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' || token.back() == '\t'))
      token.remove_suffix(1);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"' && token.find('\\') == std::string_view::npos) {
      out = token.substr(1, token.size() - 2);
      return true;
    }
    return !value.get_string().get(out);
  }

  static Found read_string_field(ondemand::value value, std::string_view& out) { return read_string(value, out) ? Found::ok : Found::bad; }

  // null reads as absent.
  static Found read_optional_string(ondemand::value value, std::string_view& out) {
    std::string_view token = value.raw_json_token();
    if (token.substr(0, 4) == "null") return Found::missing;
    return read_string_field(value, out);
  }

  // `key` is compared as written in the file (escapes and all), which spares unescaping the
  // keys of every tensor; the format's keys have no escapes.
  void read_tensor_field(ondemand::raw_json_string key, ondemand::value value, TensorFields& fields) {
    if (key == "name") {
      fields.name = read_string_field(value, fields.name_text);
    } else if (key == "shape") {
      ondemand::array dims;
      fields.shape = Found::ok;
      if (value.get_array().get(dims)) {
        fields.shape = Found::missing;  // "is missing or not a list"
        return;
      }
      for (auto dim : dims) {
        int64_t size = 0;
        if (dim.get_int64().get(size) || size < 0) {
          fields.shape = Found::bad;  // "must list sizes >= 0"; the rest of the list is skipped
          return;
        }
        if (fields.rank < fields.dims.size()) {
          fields.dims[fields.rank] = size;
        } else {
          if (!fields.shape_too_long) fields.long_shape.assign(fields.dims.begin(), fields.dims.end());
          fields.shape_too_long = true;
          fields.long_shape.push_back(size);
        }
        ++fields.rank;
      }
    } else if (key == "dtype") {
      fields.dtype = read_string_field(value, fields.dtype_text);
    } else if (key == "kind") {
      fields.kind = read_string_field(value, fields.kind_text);
    } else if (key == "module") {
      fields.module = read_optional_string(value, fields.module_text);
    } else if (key == "module_type") {
      fields.module_type = read_optional_string(value, fields.module_type_text);
    } else if (key == "requires_grad") {
      fields.requires_grad = value.get_bool().get(fields.requires_grad_value) ? Found::bad : Found::ok;
    } else if (key == "persistent") {
      fields.persistent = value.get_bool().get(fields.persistent_value) ? Found::bad : Found::ok;
    } else if (key == "tied_to") {
      fields.tied_to = read_optional_string(value, fields.tied_text);
    }
  }

  TensorRecord make_record(const TensorFields& fields, std::size_t index, TensorTable& table) {
    std::string_view name = fields.name == Found::ok ? fields.name_text : std::string_view();
    if (fields.name != Found::ok) fail_tensor(index, "", "\"name\" is missing or not a string");
    if (fields.shape == Found::missing) fail_tensor(index, name, "\"shape\" is missing or not a list");
    if (fields.shape == Found::bad) fail_tensor(index, name, "\"shape\" must list sizes >= 0");
    if (fields.dtype != Found::ok) fail_tensor(index, name, "\"dtype\" is missing or not a string");
    const std::string_view kind = fields.kind_text;
    if (fields.kind == Found::bad || (kind != "parameter" && kind != "buffer" && kind != "unknown"))
      fail_tensor(index, name, "\"kind\" must be \"parameter\", \"buffer\" or \"unknown\"");
    if (fields.module == Found::bad) fail_tensor(index, name, "\"module\" must be a string");
    if (fields.module_type == Found::bad) fail_tensor(index, name, "\"module_type\" must be a string");
    if (fields.requires_grad == Found::bad) fail_tensor(index, name, "\"requires_grad\" must be true or false");
    if (fields.persistent == Found::bad) fail_tensor(index, name, "\"persistent\" must be true or false");
    if (fields.tied_to == Found::bad) fail_tensor(index, name, "\"tied_to\" must be a string");

    TensorRecord record;
    record.name = table.text(name);
    if (fields.shape_too_long) record.shape = table.dims(fields.long_shape);
    else record.shape = table.dims(std::span<const int64_t>(fields.dims.data(), fields.rank));
    record.dtype = table.text(fields.dtype_text);
    record.kind = kind == "buffer" ? TensorKind::buffer : kind == "unknown" ? TensorKind::unknown : TensorKind::parameter;
    if (record.kind == TensorKind::unknown) table.has_unknown_kinds = true;
    if (fields.module == Found::ok) record.module = table.text(fields.module_text);
    if (fields.module_type == Found::ok) record.module_type = table.text(fields.module_type_text);
    if (!record.module_type.empty()) table.has_module_types = true;
    record.requires_grad = fields.requires_grad_value;
    record.persistent = fields.persistent_value;
    if (fields.tied_to == Found::ok && !fields.tied_text.empty()) ties_.emplace_back(index, std::string(fields.tied_text));
    return record;
  }

  // Once every record is in place: views of their names stay valid only now (short names
  // live inside the records, which move while the table grows).
  void resolve_ties(TensorTable& table) const {
    if (ties_.empty()) return;
    std::unordered_map<std::string_view, std::size_t> first_index;
    for (std::size_t i = 0; i < table.tensors.size(); ++i) first_index.emplace(table.tensors[i].name, i);
    for (const auto& [tensor, tied] : ties_) {
      auto found = first_index.find(tied);
      if (found == first_index.end() || found->second >= tensor)
        fail_tensor(tensor, table.tensors[tensor].name,
                    fmt::format("\"tied_to\" names \"{}\", which is not an earlier tensor", tied));
      table.tensors[tensor].tied_to = found->second;
    }
  }

  void read_stage_map(ondemand::value& value, TensorTable& table) {
    const std::string shape_message = "\"parameter_groups_metadata\" must hold \"stages\": {STAGE: [patterns]}";
    ondemand::object metadata;
    if (auto error = value.get_object().get(metadata)) fail_json(error, shape_message);
    ondemand::object stages;
    auto found = metadata.find_field_unordered("stages");
    if (found.error() == simdjson::NO_SUCH_FIELD) fail(shape_message);
    if (auto error = found.get_object().get(stages)) fail_json(error, shape_message);
    StageMap map;
    for (auto entry : stages) {
      ondemand::field field;
      std::string_view stage_key;
      if (auto error = std::move(entry).get(field)) fail_json(error, "");
      if (auto error = field.unescaped_key().get(stage_key)) fail_json(error, "");
      std::string stage(stage_key);
      ondemand::array patterns;
      if (auto error = field.value().get_array().get(patterns))
        fail_json(error, fmt::format("parameter_groups_metadata.stages.{} must be a list of name patterns", stage));
      std::vector<std::string> list;
      for (auto pattern : patterns) {
        std::string_view text;
        if (auto error = pattern.get_string().get(text))
          fail_json(error, fmt::format("parameter_groups_metadata.stages.{} must list strings", stage));
        list.emplace_back(text);
      }
      map.stages.emplace_back(std::move(stage), std::move(list));
    }
    table.stage_map = std::move(map);
  }

  void release_read_pages() {
    const char* at = nullptr;
    if (document_->current_location().get(at)) return;
    static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::size_t read = static_cast<std::size_t>(at - text_.data()) / page * page;
    if (read <= released_) return;
    ::madvise(const_cast<char*>(text_.data()) + released_, read - released_, MADV_DONTNEED);
    released_ = read;
  }

  static constexpr std::size_t kReleaseEvery = 16384;  // tensors (~2 MB of a dump) between releases

  std::string_view text_;
  std::size_t capacity_;
  ondemand::document* document_ = nullptr;
  bool release_as_read_ = false;
  std::size_t released_ = 0;  // bytes of the text already handed back
  const std::string& path_;
  std::vector<std::pair<std::size_t, std::string>> ties_;  // (tensor, the name it is tied to), resolved last
};

}  // namespace

TensorTable parse_model_dump(const std::string& text, const std::string& path) {
  simdjson::padded_string padded(text);
  return DumpParser(std::string_view(padded.data(), padded.size()), padded.size() + simdjson::SIMDJSON_PADDING, path).parse();
}

TensorTable read_model_dump(const std::string& path) {
  auto file = MappedFile::open_padded(path, simdjson::SIMDJSON_PADDING);
  DumpParser parser(file->view(0, file->size()), file->capacity(), path);
  parser.release_as_read();
  return parser.parse();
}

ReferenceShapes read_reference(const std::string& path) { return reference_shapes(read_model_dump(path), path); }

ReferenceShapes reference_shapes(const TensorTable& table, std::string source) {
  ReferenceShapes reference;
  reference.source = std::move(source);
  for (const auto& tensor : table.tensors)
    if (tensor.kind == TensorKind::parameter || tensor.persistent) reference.shapes.emplace(tensor.name, tensor.shape.to_vector());
  return reference;
}

}  // namespace taxon
