#include "runtime/model_dump.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <system_error>
#include <thread>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include "engine/cpus.hpp"
#include "runtime/input_error.hpp"
#include "runtime/json_cursor.hpp"
#include "runtime/mapped_file.hpp"

namespace taxon {
namespace {

constexpr std::string_view kFormat = "model-dump/1";

std::string no_format_message() {
  return fmt::format("\"format\" is missing or not a string; a model dump says \"format\": \"{}\"", kFormat);
}

// How one optional field of a tensor or module entry was found.
enum class Found : uint8_t { missing, ok, bad };

// `key == literal`, with the literal's length known to the compiler: the comparison is a load
// or two, not a call to memcmp (the keys of a million entries are compared).
template <std::size_t N>
bool is_key(std::string_view key, const char (&literal)[N]) {
  return key.size() == N - 1 && __builtin_memcmp(key.data(), literal, N - 1) == 0;
}

// The fields of one `tensors[]` entry as read, checked afterwards in a fixed order so that a
// message does not depend on the order the writer put the keys in. One is reused for every
// tensor: its buffers (for strings with escapes) are allocated once.
struct TensorFields {
  Found name, shape, dtype, kind, module, module_type, requires_grad, persistent, tied_to;
  std::string_view name_text, dtype_text, kind_text, module_text, module_type_text, tied_text;
  bool requires_grad_value, persistent_value;
  std::array<int64_t, 16> dims;
  std::size_t rank;
  std::vector<int64_t> long_shape;  // only for shapes of more than 16 dimensions
  std::string name_buffer, dtype_buffer, kind_buffer, module_buffer, module_type_buffer, tied_buffer;

  void reset() {
    name = shape = dtype = kind = module = module_type = requires_grad = persistent = tied_to = Found::missing;
    kind_text = "parameter";
    requires_grad_value = persistent_value = true;
    rank = 0;
    long_shape.clear();
  }
};

// Strings most tensors repeat (dtypes, class names), stored once in the table.
class Repeats {
 public:
  std::string_view store(TensorTable& table, std::string_view text) {
    if (text.empty()) return {};
    // The few met last are looked at before the hash: a weight and its scale alternate dtypes,
    // a layer's classes come round again.
    for (std::string_view recent : recent_)
      if (recent == text) return recent;
    std::string_view stored;
    if (auto found = seen_.find(text); found != seen_.end()) {
      stored = *found;
    } else {
      stored = table.text(text);
      if (seen_.size() < kMostDistinct) seen_.insert(stored);
    }
    recent_[next_++ % recent_.size()] = stored;
    return stored;
  }

 private:
  static constexpr std::size_t kMostDistinct = 4096;  // dtypes and classes are few; past this, store each
  std::unordered_set<std::string_view> seen_;
  std::array<std::string_view, 4> recent_;
  std::size_t next_ = 0;
};

// Rounding to pages: the kernel's (sysconf) and its huge pages (2 MiB on x86-64 and arm64 with
// 4 KiB pages, which is where transparent huge pages are used).
const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
constexpr std::size_t kHugePage = std::size_t{2} << 20;
std::size_t page_down(std::size_t at) { return at / kPage * kPage; }
std::size_t page_up(std::size_t at) { return page_down(at + kPage - 1); }
std::size_t huge_page_down(std::size_t at) { return at & ~(kHugePage - 1); }
std::size_t huge_page_up(std::size_t at) { return huge_page_down(at + kHugePage - 1); }

// Asks for transparent huge pages on the whole 2 MiB pages of a large block that is about to be
// filled front to back (best effort; the kernel decides): a reserved list of records a hundred
// thousand long is faulted in 2 MiB at a time instead of 4 KiB, which on virtual machines is
// most of the cost of filling it.
void advise_huge_pages(const void* data, std::size_t bytes) {
  auto at = reinterpret_cast<std::uintptr_t>(data);
  std::uintptr_t begin = huge_page_up(at), end = huge_page_down(at + bytes);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// Memory of a mapping of its own, for a reader's records, a list that lives only while the dump
// is read: freed, it goes back to the kernel whole. From the heap it would leave a hole that what
// comes next (evaluation) faults in afresh: ~4 MiB more at 92k tensors. A list of 2 MiB or more
// starts at a 2 MiB boundary, so that all of it can be on huge pages (the kernel may place a
// mapping anywhere; the head before the first boundary would be faulted in 4 KiB at a time).
template <class T>
struct MappedAllocator {
  using value_type = T;
  MappedAllocator() = default;
  template <class U>
  MappedAllocator(const MappedAllocator<U>&) {}
  T* allocate(std::size_t count) {
    std::size_t bytes = count * sizeof(T);
    std::size_t slack = bytes >= kHugePage ? kHugePage : 0;
    void* memory = ::mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    auto mapped = reinterpret_cast<std::uintptr_t>(memory);
    std::uintptr_t start = slack ? huge_page_up(mapped) : mapped;
    if (start > mapped) ::munmap(memory, start - mapped);
    std::uintptr_t end = page_up(start + bytes), mapped_end = page_up(mapped + bytes + slack);
    if (mapped_end > end) ::munmap(reinterpret_cast<void*>(end), mapped_end - end);
    advise_huge_pages(reinterpret_cast<void*>(start), bytes);
    return reinterpret_cast<T*>(start);
  }
  void deallocate(T* memory, std::size_t count) { ::munmap(memory, count * sizeof(T)); }
  friend bool operator==(const MappedAllocator&, const MappedAllocator&) { return true; }
};
using HalfRecords = std::vector<TensorRecord, MappedAllocator<TensorRecord>>;

// The dump is read in one forward pass over the text (a memory map of the file) by a JSON
// cursor that keeps no index of it: each tensor's strings are viewed in the text and copied
// once, into the table. A message about a field is given only once the whole text is known to
// be JSON, so that a file that is not JSON is reported as such, with its line and column,
// whatever the reader met first.
class DumpParser {
 public:
  DumpParser(std::string_view text, const std::string& path) : text_(text), cursor_(text), path_(path) {}

  // The text is a private mapping of the file (page-aligned): pages the reader has gone past are
  // handed back to the kernel as it goes, so a big dump is not resident whole beside the records
  // made from it. A clean page of a private file mapping that is read again (the check of the
  // whole text before an error is reported) faults back in from the file.
  // Pages ahead of the reader are mapped a window at a time (one call, not a fault per page:
  // faults were a third of the read), and pages behind it handed back.
  void window_the_mapping() { windowed_ = true; }
  // Texts of at least this many bytes are read by two readers at once (start_second_half).
  void split_from(std::size_t bytes) { split_from_ = bytes; }

  TensorTable parse() {
    try {
      return parse_document();
    } catch (const JsonSyntaxError& error) {
      not_json(error);
    }
  }

 private:
  TensorTable parse_document() {
    TensorTable table;
    if (!cursor_.begin_object()) fail("the top level must be a JSON object");
    if (windowed_) start_second_half();
    bool format_seen = false, tensors_seen = false;
    std::string_view key;
    while (cursor_.next_key(key, key_buffer_)) {
      if (key == "format") {
        std::string_view format;
        if (!cursor_.string(format, value_buffer_)) fail(no_format_message());
        if (format != kFormat) fail(fmt::format("unsupported format \"{}\"; this taxon reads \"{}\"", format, kFormat));
        format_seen = true;
      } else if (key == "model") {
        std::string_view model;
        if (cursor_.string(model, value_buffer_)) table.model = std::string(model);
        else cursor_.skip();
      } else if (key == "modules") {
        read_modules(table);
      } else if (key == "tensors") {
        read_tensors(table);
        tensors_seen = true;
      } else if (key == "parameter_groups_metadata") {
        read_stage_map(table);
      } else {
        cursor_.skip();
      }
    }
    cursor_.finish();
    if (!format_seen) fail(no_format_message());
    if (!tensors_seen) fail("\"tensors\" is missing or not a list");
    resolve_ties(table);
    return table;
  }

  // A message about the content: given only when the whole text is JSON; else its syntax error.
  [[noreturn]] void fail(const std::string& message) const {
    try {
      if (!second_half_) JsonCursor::validate(text_);  // a second half's error is dropped: the first reader says it
    } catch (const JsonSyntaxError& error) {
      not_json(error);
    }
    throw InputError(code::malformed_dump, fmt::format("{}: {}", path_, message));
  }

  [[noreturn]] void not_json(const JsonSyntaxError& error) const {
    auto [line, column] = position_in(text_, error.offset());
    throw InputError(code::malformed_dump, fmt::format("{}:{}:{}: not valid JSON ({}); a model dump is one JSON object (docs/model-dump.md)",
                                                       path_, line, column, error.what()));
  }

  [[noreturn]] void fail_tensor(std::size_t index, std::string_view name, const std::string& message) const {
    if (name.empty()) fail(fmt::format("tensors[{}]: {}", index, message));
    fail(fmt::format("tensors[{}] (\"{}\"): {}", index, name, message));
  }

  Found read_string_field(std::string_view& out, std::string& buffer) {
    if (cursor_.string(out, buffer)) return Found::ok;
    cursor_.skip();
    return Found::bad;
  }

  // null reads as absent.
  Found read_optional_string(std::string_view& out, std::string& buffer) {
    if (cursor_.null()) return Found::missing;
    return read_string_field(out, buffer);
  }

  Found read_bool_field(bool& out) {
    if (cursor_.boolean(out)) return Found::ok;
    cursor_.skip();
    return Found::bad;
  }

  void read_modules(TensorTable& table) {
    if (!cursor_.begin_array()) fail("\"modules\" must be a list of {\"name\", \"type\"} objects");
    // Reserved as the tensors are (address space until used).
    table.modules.reserve(table.modules.size() + (text_.size() - cursor_.offset()) / kShortestModule);
    advise_huge_pages(table.modules.data(), table.modules.capacity() * sizeof(table.modules[0]));
    std::string name_buffer, type_buffer, alias_buffer;
    for (std::size_t index = 0; cursor_.next_element(); ++index) {
      if (!cursor_.begin_object()) fail(fmt::format("modules[{}]: needs string fields \"name\" and \"type\"", index));
      Found name = Found::missing, type = Found::missing, alias = Found::missing;
      std::string_view name_text, type_text, alias_text, key;
      std::vector<std::string> mro;
      while (cursor_.next_key(key, key_buffer_)) {
        if (is_key(key, "name")) {
          name = read_string_field(name_text, name_buffer);
        } else if (is_key(key, "type")) {
          type = read_string_field(type_text, type_buffer);
        } else if (is_key(key, "mro")) {
          mro = read_mro(index);
        } else if (is_key(key, "alias_of")) {
          alias = read_optional_string(alias_text, alias_buffer);
          if (alias == Found::bad) fail(fmt::format("modules[{}]: \"alias_of\" must be the module's first path, a string", index));
        } else {
          cursor_.skip();
        }
      }
      if (name != Found::ok || type != Found::ok) fail(fmt::format("modules[{}]: needs string fields \"name\" and \"type\"", index));
      table.modules.emplace_back(table.text(name_text), types_.store(table, type_text));  // the class stored once
      if (windowed_) move_window();
      if (!mro.empty()) table.module_mro.insert_or_assign(std::string(name_text), std::move(mro));
      if (alias == Found::ok) table.module_alias_of.insert_or_assign(std::string(name_text), std::string(alias_text));
    }
  }

  // Optional (older dumps and TorchScript modules have none): the qualified names of the
  // module's class and of the classes it inherits from, for isinstance semantics.
  std::vector<std::string> read_mro(std::size_t index) {
    if (!cursor_.begin_array()) fail(fmt::format("modules[{}]: \"mro\" must be a list of class names", index));
    std::vector<std::string> mro;
    std::string_view qualified;
    while (cursor_.next_element()) {
      if (!cursor_.string(qualified, value_buffer_) || qualified.empty())
        fail(fmt::format("modules[{}]: \"mro\" must list class names (module.Class)", index));
      mro.emplace_back(qualified);
    }
    return mro;
  }

  // A long dump is read by two readers at once. The second starts with the document, from an
  // element start guessed after the middle of the whole text (the tensor list is most of a dump,
  // so the guess mostly falls in it, and the first reader reads the modules meanwhile); it is
  // kept only if the first reader, reading the tensor list, arrives exactly there. Else (a guess
  // elsewhere, or an error in the second half) the first reader goes on alone and meets what
  // the second did itself.
  void start_second_half() {
    split_ = split_point();
    if (split_ == kNowhere) return;
    half_.records.reserve((text_.size() - split_) / kShortestTensor);
    try {
      second_ = std::jthread([this] { read_second_half(half_, split_, kListDepth); });
    } catch (const std::system_error&) {  // no thread to be had (a process at its limit): one reader
      split_ = kNowhere;
      return;
    }
    populate_until_ = split_;  // the second reader maps (and hands back) its own pages
  }

  void read_tensors(TensorTable& table) {
    if (!cursor_.begin_array()) fail("\"tensors\" is missing or not a list");
    // Room for every entry the rest could hold is reserved (address space, not memory, until
    // used), so the list is never copied as it grows.
    table.tensors.reserve(table.tensors.size() + (text_.size() - cursor_.offset()) / kShortestTensor);
    advise_huge_pages(table.tensors.data(), table.tensors.capacity() * sizeof(TensorRecord));
    bool met = read_entries(table, table.tensors, split_);
    if (!second_.joinable()) return;
    second_.join();
    split_ = populate_until_ = kNowhere;
    if (met && half_.end) {
      std::size_t offset = table.tensors.size();
      table.store.keep(half_.table.store);
      append_releasing(half_.records, table.tensors);
      table.has_module_types |= half_.table.has_module_types;
      table.has_unknown_kinds |= half_.table.has_unknown_kinds;
      for (auto& [tensor, tied] : half_.ties) ties_.emplace_back(tensor + offset, std::move(tied));
      cursor_ = *half_.end;
    } else if (met) {
      read_entries(table, table.tensors, kNowhere, true);
    }
    half_ = SecondHalf();
  }

  // Reads tensor entries up to the list's closing bracket; false there. With a `split` (an
  // offset ahead), stops and returns true where the next entry starts exactly at it, its comma
  // read: `resume` goes on from there. The records go to `records`, their strings to `table`.
  template <class Records>
  bool read_entries(TensorTable& table, Records& records, std::size_t split, bool resume = false) {
    TensorFields fields;
    std::string_view key;
    for (std::size_t index = records.size(); std::exchange(resume, false) || cursor_.next_element(); ++index) {
      if (split != kNowhere && (cursor_.kind(), cursor_.offset() >= split)) {
        if (cursor_.offset() == split) return true;
        split = kNowhere;  // went past it: the guess was not an element's start
      }
      if (!cursor_.begin_object()) fail(fmt::format("tensors[{}]: each tensor must be a JSON object", index));
      fields.reset();
      while (cursor_.next_key(key, key_buffer_)) read_tensor_field(key, fields);
      records.push_back(make_record(fields, index, table));
      if (windowed_) move_window();
    }
    return false;
  }

  // Appends `from`'s records to `to` a megabyte at a time, handing `from`'s pages back to the
  // kernel behind the copy (they are never read again; the records are trivially destructible),
  // so that the two halves' lists are not resident whole at once: 5.5 MB at 92k tensors.
  static void append_releasing(HalfRecords& from, std::vector<TensorRecord>& to) {
    static_assert(std::is_trivially_copyable_v<TensorRecord> && std::is_trivially_destructible_v<TensorRecord>);
    constexpr std::size_t kChunk = (std::size_t{1} << 20) / sizeof(TensorRecord);
    auto first = reinterpret_cast<std::uintptr_t>(from.data());
    std::uintptr_t released = page_up(first);  // pages wholly inside the list only
    for (std::size_t at = 0; at < from.size(); at += kChunk) {
      std::size_t count = std::min(kChunk, from.size() - at);
      to.insert(to.end(), from.begin() + static_cast<std::ptrdiff_t>(at), from.begin() + static_cast<std::ptrdiff_t>(at + count));
      std::uintptr_t copied = page_down(first + (at + count) * sizeof(TensorRecord));
      if (copied > released) {
        ::madvise(reinterpret_cast<void*>(released), copied - released, MADV_DONTNEED);
        released = copied;
      }
    }
    from = {};
  }

  struct SecondHalf {
    TensorTable table;    // the strings of its records, in a store of its own
    HalfRecords records;  // indices within the half
    std::vector<std::pair<std::size_t, std::string>> ties;  // indices within the half
    std::optional<JsonCursor> end;                          // past the list; unset when it failed
  };

  // Where a second reader could start: the first element start after the middle of what is left,
  // as far as a '{' after a ',' tells; kNowhere for a text too short to be worth a thread.
  std::size_t split_point() const {
    std::size_t here = cursor_.offset();
    if (text_.size() - here < split_from_ || usable_cpus() < 2) return kNowhere;
    std::size_t middle = here + (text_.size() - here) / 2;
    for (std::size_t comma = text_.find(',', middle); comma != std::string_view::npos && comma < middle + kSearch;
         comma = text_.find(',', comma + 1)) {
      std::size_t next = text_.find_first_not_of(" \t\r\n", comma + 1);
      if (next != std::string_view::npos && text_[next] == '{') return next;
    }
    return kNowhere;
  }

  // Into `half` (its records' list reserved by the caller).
  void read_second_half(SecondHalf& half, std::size_t start, int depth) const noexcept {
    try {
      DumpParser reader(text_, path_);
      reader.cursor_ = JsonCursor::at_element(text_, start, depth);
      reader.second_half_ = true;
      reader.windowed_ = windowed_;
      reader.populated_ = reader.released_ = page_up(start);  // its own pages only
      reader.read_entries(half.table, half.records, kNowhere);
      half.ties = std::move(reader.ties_);
      half.end = reader.cursor_;
    } catch (...) {  // the first reader will meet whatever this was, and say it in order
      half.end.reset();
    }
  }

  static constexpr std::size_t kNowhere = std::string_view::npos;
  static constexpr int kListDepth = 2;  // the tensor list's entries: in the top-level object, in the list
  // The fewest bytes an entry of each list takes: {"name":"","shape":[],"dtype":""} and
  // {"name":"","type":""}.
  static constexpr std::size_t kShortestTensor = 33, kShortestModule = 21;

  // Keys are told apart by length first: most of a dump is these nine keys, a million times over.
  void read_tensor_field(std::string_view key, TensorFields& fields) {
    switch (key.size()) {
      case 4:
        if (is_key(key, "name")) return void(fields.name = read_string_field(fields.name_text, fields.name_buffer));
        if (is_key(key, "kind")) return void(fields.kind = read_string_field(fields.kind_text, fields.kind_buffer));
        break;
      case 5:
        if (is_key(key, "shape")) return read_shape(fields);
        if (is_key(key, "dtype")) return void(fields.dtype = read_string_field(fields.dtype_text, fields.dtype_buffer));
        break;
      case 6:
        if (is_key(key, "module")) return void(fields.module = read_optional_string(fields.module_text, fields.module_buffer));
        break;
      case 7:
        if (is_key(key, "tied_to")) return void(fields.tied_to = read_optional_string(fields.tied_text, fields.tied_buffer));
        break;
      case 10:
        if (is_key(key, "persistent")) return void(fields.persistent = read_bool_field(fields.persistent_value));
        break;
      case 11:
        if (is_key(key, "module_type"))
          return void(fields.module_type = read_optional_string(fields.module_type_text, fields.module_type_buffer));
        break;
      case 13:
        if (is_key(key, "requires_grad")) return void(fields.requires_grad = read_bool_field(fields.requires_grad_value));
        break;
      default:
        break;
    }
    cursor_.skip();
  }

  void read_shape(TensorFields& fields) {
    fields.rank = 0;
    fields.long_shape.clear();
    if (!cursor_.begin_array()) {
      fields.shape = Found::missing;  // "is missing or not a list"
      cursor_.skip();
      return;
    }
    fields.shape = Found::ok;
    while (cursor_.next_element()) {
      int64_t size = 0;
      JsonCursor::Integer read = fields.shape == Found::ok ? cursor_.integer(size) : JsonCursor::Integer::not_number;
      if (read == JsonCursor::Integer::not_number) cursor_.skip();
      if (fields.shape != Found::ok) continue;  // the rest of the list is checked, not kept
      if (read != JsonCursor::Integer::read || size < 0) {
        fields.shape = Found::bad;  // "must list sizes >= 0"
        continue;
      }
      if (fields.rank < fields.dims.size()) {
        fields.dims[fields.rank] = size;
      } else {
        if (fields.long_shape.empty()) fields.long_shape.assign(fields.dims.begin(), fields.dims.end());
        fields.long_shape.push_back(size);
      }
      ++fields.rank;
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
    std::span<const int64_t> sizes = fields.long_shape.empty() ? std::span<const int64_t>(fields.dims.data(), fields.rank)
                                                               : std::span<const int64_t>(fields.long_shape);
    // Neighbours mostly share a shape (the experts of a layer): stored once for the run.
    if (!std::ranges::equal(sizes, last_shape_.span())) last_shape_ = table.dims(sizes);
    record.shape = last_shape_;
    record.dtype = dtypes_.store(table, fields.dtype_text);
    record.kind = kind == "buffer" ? TensorKind::buffer : kind == "unknown" ? TensorKind::unknown : TensorKind::parameter;
    if (record.kind == TensorKind::unknown) table.has_unknown_kinds = true;
    if (fields.module == Found::ok && !fields.module_text.empty()) {
      // The owner's path is the name's own start (`blocks.0.fc` of `blocks.0.fc.weight`) or, failing
      // that, mostly the neighbour's (a weight and its bias): stored again only when it is neither.
      std::string_view module = fields.module_text;
      if (record.name.size() > module.size() && record.name.starts_with(module) && record.name[module.size()] == '.')
        last_module_ = record.name.substr(0, module.size());
      else if (module != last_module_)
        last_module_ = table.text(module);
      record.module = last_module_;
    }
    if (fields.module_type == Found::ok) record.module_type = types_.store(table, fields.module_type_text);
    if (!record.module_type.empty()) table.has_module_types = true;
    record.requires_grad = fields.requires_grad_value;
    record.persistent = fields.persistent_value;
    if (fields.tied_to == Found::ok && !fields.tied_text.empty()) ties_.emplace_back(index, std::string(fields.tied_text));
    return record;
  }

  // Once every record is in place, ties are resolved by name to an earlier tensor.
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

  void read_stage_map(TensorTable& table) {
    const std::string shape_message = "\"parameter_groups_metadata\" must hold \"stages\": {STAGE: [patterns]}";
    if (!cursor_.begin_object()) fail(shape_message);
    bool stages_seen = false;
    std::string_view key;
    StageMap map;
    while (cursor_.next_key(key, key_buffer_)) {
      if (key != "stages") {
        cursor_.skip();
        continue;
      }
      stages_seen = true;
      map.stages.clear();
      if (!cursor_.begin_object()) fail(shape_message);
      std::string_view stage_key;
      std::string stage_buffer;
      while (cursor_.next_key(stage_key, stage_buffer)) {
        std::string stage(stage_key);
        if (!cursor_.begin_array()) fail(fmt::format("parameter_groups_metadata.stages.{} must be a list of name patterns", stage));
        std::vector<std::string> list;
        std::string_view text;
        while (cursor_.next_element()) {
          if (!cursor_.string(text, value_buffer_)) fail(fmt::format("parameter_groups_metadata.stages.{} must list strings", stage));
          list.emplace_back(text);
        }
        map.stages.emplace_back(std::move(stage), std::move(list));
      }
    }
    if (!stages_seen) fail(shape_message);
    table.stage_map = std::move(map);
  }

  void move_window() {
    std::size_t at = cursor_.offset();
    // Up to the second reader's start while there is one ahead (past it: a guess not kept).
    std::size_t end = at < populate_until_ ? std::min(text_.size(), populate_until_) : text_.size();
    if (at + kWindow / 2 > populated_ && populated_ < end) {
      // From where the cursor is, not where mapping last stopped: after a second half was
      // taken over, what lies between was read (and handed back) by the other reader.
      std::size_t from = std::max(populated_, page_down(at));
      std::size_t until = std::min(end, page_down(at + kWindow));
      // Best effort: a kernel without MADV_POPULATE_READ (before 5.14) faults the pages in as read.
      if (until > from) ::madvise(const_cast<char*>(text_.data()) + from, until - from, MADV_POPULATE_READ);
      populated_ = std::max(populated_, until);
    }
    if (at >= released_ + kWindow) {
      std::size_t read = page_down(at);
      ::madvise(const_cast<char*>(text_.data()) + released_, read - released_, MADV_DONTNEED);
      released_ = read;
    }
  }

  // Bytes of text mapped ahead, and released behind, at a time (up to twice this resident a
  // reader). Smaller windows cost more than they save: each release, with two readers, stops
  // the other CPU to flush its TLB (a million tensors with 256 KiB: ~10% slower).
  static constexpr std::size_t kWindow = std::size_t{1} << 20;
  static constexpr std::size_t kSearch = std::size_t{1} << 20;  // how far past the middle a second reader's start is looked for

  std::string_view text_;
  JsonCursor cursor_;
  const std::string& path_;
  bool windowed_ = false;
  bool second_half_ = false;
  std::size_t split_from_ = kNowhere;              // reading the second half of a list for another reader
  std::size_t populate_until_ = kNowhere;  // where mapping ahead stops (the second half's start)
  std::size_t populated_ = 0;  // bytes of the text mapped ahead of the reader (page-aligned)
  std::size_t released_ = 0;   // bytes of the text already handed back (page-aligned)
  std::string key_buffer_, value_buffer_;
  Repeats types_, dtypes_;
  std::string_view last_module_;
  Dims last_shape_;
  std::vector<std::pair<std::size_t, std::string>> ties_;  // (tensor, the name it is tied to), resolved last
  std::size_t split_ = kNowhere;  // where the second reader started, while it may be kept
  SecondHalf half_;               // what it read
  std::jthread second_;           // last: joined before what it reads into is destroyed
};

}  // namespace

TensorTable parse_model_dump(const std::string& text, const std::string& path) { return DumpParser(text, path).parse(); }

TensorTable read_model_dump(const std::string& path, const DumpReadOptions& options) {
  auto file = MappedFile::open(path);
  DumpParser parser(file->view(0, file->size()), path);
  if (file->size() > 0) parser.window_the_mapping();
  parser.split_from(options.split_from);
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
