#include "runtime/pickle.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "runtime/input_error.hpp"

namespace taxon {
namespace {

constexpr std::size_t kMaxDepth = kMaxPickleDepth;  // real checkpoints nest < 10 deep
constexpr std::size_t kMaxStack = 4'000'000;        // values on the stack at once

// What a global is allowed to be.
enum class Allowed { no, value, ordered_dict, rebuild_tensor_v2, rebuild_tensor, rebuild_parameter,
                     rebuild_parameter_with_state, rebuild_from_type_v2, device, size, codecs_encode, set };

struct AllowedGlobal {
  std::string_view module, name;
  Allowed kind;
};

constexpr std::array<AllowedGlobal, 16> kAllowed{{
    {"collections", "OrderedDict", Allowed::ordered_dict},
    {"torch._utils", "_rebuild_tensor_v2", Allowed::rebuild_tensor_v2},
    {"torch._utils", "_rebuild_tensor", Allowed::rebuild_tensor},
    {"torch._utils", "_rebuild_parameter", Allowed::rebuild_parameter},
    {"torch._utils", "_rebuild_parameter_with_state", Allowed::rebuild_parameter_with_state},
    {"torch._tensor", "_rebuild_from_type_v2", Allowed::rebuild_from_type_v2},
    {"torch", "device", Allowed::device},
    {"torch", "Size", Allowed::size},
    {"torch", "Tensor", Allowed::value},
    {"torch.nn.parameter", "Parameter", Allowed::value},
    {"_codecs", "encode", Allowed::codecs_encode},
    {"builtins", "set", Allowed::set},
    {"builtins", "frozenset", Allowed::set},
    {"__builtin__", "set", Allowed::set},
    {"torch", "UntypedStorage", Allowed::value},
    {"torch.storage", "UntypedStorage", Allowed::value},
}};

// Globals that are recognised, and refused with a reason rather than a bare "not allowed".
std::string refusal_reason(std::string_view module, std::string_view name) {
  if (module == "torch._utils" && name == "_rebuild_qtensor")
    return "it rebuilds a quantized tensor, which taxon does not read; dequantize before saving";
  if (module == "torch._utils" && name == "_rebuild_sparse_tensor")
    return "it rebuilds a sparse tensor, which taxon does not read; save `.to_dense()` instead";
  if (module.starts_with("__torch__"))
    return "it is a TorchScript class: this is a torch.jit.save archive, not a torch.save checkpoint";
  if (module.starts_with("numpy")) return "numpy objects are not tensors; save torch tensors and plain numbers";
  return "taxon reads data only and never runs code from a checkpoint";
}

Allowed classify(std::string_view module, std::string_view name) {
  for (const auto& allowed : kAllowed)
    if (allowed.module == module && allowed.name == name) return allowed.kind;
  if (module == "torch") {
    if (name.ends_with("Storage") && dtype_from_storage_class(name)) return Allowed::value;
    if (dtype_from_name(name) || name == "float" || name == "half" || name == "double" || name == "long" ||
        name == "int" || name == "bool" || name == "uint8" || name == "qint8" || name == "quint8")
      return Allowed::value;  // dtypes as values
  }
  return Allowed::no;
}

// A container's children by index: list and tuple items; a dict's keys, values, then its state.
std::size_t child_count(const PyValue& value) {
  if (const auto* list = std::get_if<PyList>(&value.value)) return list->items.size();
  if (const auto* tuple = std::get_if<PyTuple>(&value.value)) return tuple->items.size();
  if (const auto* dict = std::get_if<PyDict>(&value.value)) return 2 * dict->items.size() + 1;
  return 0;
}
const PyValue* child(const PyValue& value, std::size_t i) {
  if (const auto* list = std::get_if<PyList>(&value.value)) return list->items[i].get();
  if (const auto* tuple = std::get_if<PyTuple>(&value.value)) return tuple->items[i].get();
  const auto& dict = std::get<PyDict>(value.value);
  if (i == 2 * dict.items.size()) return dict.state.get();
  return i % 2 == 0 ? dict.items[i / 2].first.get() : dict.items[i / 2].second.get();
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, const UnpickleOptions& options) : in_(bytes), options_(options) {}

  // Values hold each other by shared_ptr, so a pickle that puts a container inside itself (the
  // memo allows it; no checkpoint does it) would leak. Every container made that the result does
  // not hold (all of them, after an error) is emptied here, which frees it whatever it held.
  ~Unpickler() {
    stack_.clear();
    memo_.clear();
    for (const auto& weak : containers_)
      if (PyRef value = weak.lock(); value && !result_.contains(value.get())) {
        if (auto* list = std::get_if<PyList>(&value->value)) list->items.clear();
        else if (auto* tuple = std::get_if<PyTuple>(&value->value)) tuple->items.clear();
        else if (auto* dict = std::get_if<PyDict>(&value->value)) {
          dict->items.clear();
          dict->state.reset();
        }
      }
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  PyRef run(std::size_t* consumed) {
    while (true) {
      uint8_t op = byte();
      if (op == '.') {  // STOP
        if (stack_.empty()) fail("STOP with an empty stack");
        if (consumed) *consumed = pos_;
        Shape shape = measure(stack_.back(), result_);
        if (shape != Shape::fine) {
          result_.clear();  // so that ~Unpickler empties every container, a cycle's too
          if (shape == Shape::cycle) fail("a container holds itself; no checkpoint does");
          fail(too_deep());
        }
        return stack_.back();
      }
      step(op);
      if (stack_.size() > kMaxStack) fail("more values on the stack than any checkpoint needs");
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(code::corrupt_checkpoint, fmt::format("{}: invalid pickle at byte {}: {}", options_.context, pos_, what));
  }

  uint8_t byte() {
    if (pos_ >= in_.size()) fail("the data ends before the pickle's STOP");
    return static_cast<uint8_t>(in_[pos_++]);
  }
  std::string_view take(uint64_t length) {
    if (length > in_.size() - pos_) fail(fmt::format("a {}-byte value runs past the end of the data", length));
    auto out = in_.substr(pos_, length);
    pos_ += length;
    return out;
  }
  template <typename T>
  T little() {
    T value{};
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  std::string_view line() {
    std::size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) fail("a text argument without its newline");
    auto out = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  PyRef pop() {
    if (stack_.size() <= floor()) fail("an opcode needs a value and the stack (above its mark) is empty");
    PyRef value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  PyRef& top() {
    if (stack_.size() <= floor()) fail("an opcode needs a value and the stack (above its mark) is empty");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty()) fail("an opcode needs a MARK and there is none");
    std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  void push(PyRef value) { stack_.push_back(std::move(value)); }

  PyRef make(decltype(PyValue::value) value) {
    PyRef out = std::make_shared<PyValue>(std::move(value), 1);
    if (std::holds_alternative<PyList>(out->value) || std::holds_alternative<PyTuple>(out->value) ||
        std::holds_alternative<PyDict>(out->value))
      containers_.push_back(out);
    return out;
  }

  enum class Shape { fine, cycle, too_deep };

  // The finished value's real depth: `nest` sees a container's depth only when an item goes in,
  // and through the memo a container can be filled after it was put inside another. Depth-first,
  // without recursion, each container once however many hold it (so a shared subtree costs
  // nothing more); `heights` gets every non-empty container reached and its height (0 while it is
  // still on the path). Leaves cannot close a cycle; a path kMaxDepth long is already too deep.
  static Shape measure(const PyRef& root, std::unordered_map<const PyValue*, std::size_t>& heights) {
    struct Open {
      const PyValue* value;
      std::size_t* height_out;  // its entry in `heights` (rehashing moves no entry)
      std::size_t next = 0, height = 1;
    };
    std::vector<Open> path;
    if (!root || child_count(*root) == 0) return Shape::fine;
    path.push_back({root.get(), &(heights[root.get()] = 0)});
    while (!path.empty()) {
      Open& open = path.back();
      if (open.next == child_count(*open.value)) {
        std::size_t height = *open.height_out = open.height;
        if (height > kMaxDepth) return Shape::too_deep;
        path.pop_back();
        if (!path.empty()) path.back().height = std::max(path.back().height, height + 1);
        continue;
      }
      const PyValue* below = child(*open.value, open.next++);
      if (!below) continue;
      if (child_count(*below) == 0) {
        open.height = std::max<std::size_t>(open.height, 2);
        continue;
      }
      auto [entry, fresh] = heights.try_emplace(below, 0);
      if (!fresh) {
        if (entry->second == 0) return Shape::cycle;  // still open: a way back up the path
        open.height = std::max(open.height, entry->second + 1);
        continue;
      }
      if (path.size() == kMaxDepth) return Shape::too_deep;
      path.push_back({below, &entry->second});
    }
    return Shape::fine;
  }

  static std::string too_deep() { return fmt::format("containers nested more than {} levels deep", kMaxDepth); }
  void nest(PyValue& container, const PyRef& item) {
    if (item && item->depth + 1 > container.depth) container.depth = item->depth + 1;
    if (container.depth > kMaxDepth) fail(too_deep());
  }
  PyRef container(decltype(PyValue::value) value, const std::vector<PyRef>& items) {
    PyRef out = make(std::move(value));
    for (const auto& item : items) nest(*out, item);
    return out;
  }

  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) fail(fmt::format("memo entry {} is read before it is written", index));
    push(found->second);
  }

  void append(PyRef& list_ref, PyRef item) {
    auto* list = std::get_if<PyList>(&list_ref->value);
    if (auto* dict = std::get_if<PyDict>(&list_ref->value); !list && dict) fail("APPEND on a dict");
    if (!list) {
      if (std::holds_alternative<PyTuple>(list_ref->value)) fail("APPEND on a tuple");
      fail(fmt::format("APPEND on a {}", describe_type(list_ref)));
    }
    nest(*list_ref, item);
    list->items.push_back(std::move(item));
  }
  void set_item(PyRef& dict_ref, PyRef key, PyRef value) {
    auto* dict = std::get_if<PyDict>(&dict_ref->value);
    if (!dict) fail(fmt::format("SETITEM on a {}", describe_type(dict_ref)));
    nest(*dict_ref, value);
    dict->items.emplace_back(std::move(key), std::move(value));
  }

  PyRef global(std::string module, std::string name) {
    if (classify(module, name) == Allowed::no)
      throw InputError(code::forbidden_global,
                       fmt::format("{}: refusing the pickled global {}.{}: {}", options_.context, module, name,
                                   refusal_reason(module, name)));
    return make(PyGlobal{std::move(module), std::move(name)});
  }

  static std::string text(const PyRef& value) {
    const std::string* s = as_string(value);
    return s ? *s : std::string();
  }

  int64_t integer(const PyRef& value, std::string_view what) {
    if (const auto* i = std::get_if<int64_t>(&value->value)) return *i;
    if (const auto* b = std::get_if<bool>(&value->value)) return *b;
    fail(fmt::format("{} must be an integer, not {}", what, describe_type(value)));
  }

  std::vector<int64_t> integers(const PyRef& value, std::string_view what) {
    const std::vector<PyRef>* items = nullptr;
    if (const auto* t = std::get_if<PyTuple>(&value->value)) items = &t->items;
    else if (const auto* l = std::get_if<PyList>(&value->value)) items = &l->items;
    else fail(fmt::format("{} must be a tuple of integers, not {}", what, describe_type(value)));
    std::vector<int64_t> out;
    for (const auto& item : *items) out.push_back(integer(item, what));
    return out;
  }

  PyRef rebuild_tensor(const std::vector<PyRef>& args, bool has_grad) {
    if (args.size() < 4) fail("a tensor is rebuilt from (storage, offset, size, stride, ...)");
    const auto* storage = std::get_if<PyStorage>(&args[0]->value);
    if (!storage) fail(fmt::format("a tensor's storage must come from a persistent id, not {}", describe_type(args[0])));
    TensorData tensor;
    tensor.storage = storage->storage;
    tensor.dtype = storage->storage->dtype;
    tensor.storage_offset = integer(args[1], "a storage offset");
    tensor.shape = integers(args[2], "a tensor size");
    tensor.stride = integers(args[3], "a tensor stride");
    if (has_grad && args.size() > 4) {
      if (const auto* flag = std::get_if<bool>(&args[4]->value)) tensor.requires_grad = *flag;
    }
    return make(PyTensor{std::move(tensor)});
  }

  PyRef call(const PyRef& callable, const PyRef& arguments) {
    const auto* function = std::get_if<PyGlobal>(&callable->value);
    if (!function) fail(fmt::format("REDUCE calls a {}, not a class or function", describe_type(callable)));
    const auto* tuple = std::get_if<PyTuple>(&arguments->value);
    if (!tuple) fail("REDUCE's arguments must be a tuple");
    const std::vector<PyRef>& args = tuple->items;
    switch (classify(function->module, function->name)) {
      case Allowed::ordered_dict: {
        PyDict dict;
        dict.ordered = true;
        return make(std::move(dict));
      }
      case Allowed::rebuild_tensor_v2: return rebuild_tensor(args, true);
      case Allowed::rebuild_tensor: return rebuild_tensor(args, false);
      case Allowed::rebuild_parameter:
      case Allowed::rebuild_parameter_with_state: {
        if (args.size() < 2) fail("a parameter is rebuilt from (data, requires_grad, ...)");
        const auto* data = std::get_if<PyTensor>(&args[0]->value);
        if (!data) fail("a parameter's data must be a tensor");
        PyTensor parameter = *data;
        if (const auto* flag = std::get_if<bool>(&args[1]->value)) parameter.tensor.requires_grad = *flag;
        return make(std::move(parameter));
      }
      case Allowed::rebuild_from_type_v2: {
        // (function, type, args, state): only the tensor rebuilders, applied to their arguments.
        if (args.size() < 3) fail("_rebuild_from_type_v2 takes (function, type, args, state)");
        return call(args[0], args[2]);
      }
      case Allowed::device: return make(args.empty() ? std::string("cpu") : text(args[0]));
      case Allowed::size: {
        if (args.empty()) return make(PyTuple{});
        return args[0];
      }
      case Allowed::codecs_encode: {  // protocol 2 writes bytes as _codecs.encode(str, "latin1")
        if (args.empty()) fail("_codecs.encode needs a string");
        std::string utf8 = text(args[0]), latin1;
        for (std::size_t i = 0; i < utf8.size(); ++i) {
          auto c = static_cast<unsigned char>(utf8[i]);
          if (c < 0x80) latin1.push_back(static_cast<char>(c));
          else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size())
            latin1.push_back(static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F)));
          else fail("_codecs.encode of text that is not latin-1");
        }
        return make(PyBytes{std::move(latin1)});
      }
      case Allowed::set: {
        PyList list;
        if (!args.empty()) {
          if (const auto* items = std::get_if<PyList>(&args[0]->value)) list = *items;
        }
        return make(std::move(list));
      }
      case Allowed::value:
      case Allowed::no: break;
    }
    fail(fmt::format("{}.{} cannot be called here", function->module, function->name));
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: byte(); return;                         // PROTO
      case 0x95: take(8); return;                        // FRAME: framing only
      case '(': marks_.push_back(stack_.size()); return;  // MARK
      case '0': pop(); return;                           // POP
      case '1': pop_mark(); return;                      // POP_MARK
      case '2': push(top()); return;                     // DUP
      case 'N': push(make(PyNone{})); return;
      case 0x88: push(make(true)); return;   // NEWTRUE
      case 0x89: push(make(false)); return;  // NEWFALSE
      case 'J': push(make(static_cast<int64_t>(little<int32_t>()))); return;   // BININT
      case 'K': push(make(static_cast<int64_t>(little<uint8_t>()))); return;   // BININT1
      case 'M': push(make(static_cast<int64_t>(little<uint16_t>()))); return;  // BININT2
      case 0x8a: push(long_value(little<uint8_t>())); return;                  // LONG1
      case 0x8b: {                                                             // LONG4
        int32_t length = little<int32_t>();
        if (length < 0) fail("a negative length");
        push(long_value(static_cast<uint64_t>(length)));
        return;
      }
      case 'I': {  // INT (text): also True/False as 01/00
        std::string_view text_value = line();
        if (text_value == "01") push(make(true));
        else if (text_value == "00") push(make(false));
        else push(make(parse_int(text_value)));
        return;
      }
      case 'L': {  // LONG (text)
        std::string_view text_value = line();
        if (!text_value.empty() && text_value.back() == 'L') text_value.remove_suffix(1);
        push(make(parse_int(text_value)));
        return;
      }
      case 'G': {  // BINFLOAT: big-endian
        uint64_t bits = 0;
        for (char c : take(8)) bits = (bits << 8) | static_cast<uint8_t>(c);
        double value;
        std::memcpy(&value, &bits, 8);
        push(make(value));
        return;
      }
      case 'F': push(make(std::strtod(std::string(line()).c_str(), nullptr))); return;  // FLOAT (text)
      case 'X': push(make(std::string(take(little<uint32_t>())))); return;              // BINUNICODE
      case 0x8c: push(make(std::string(take(little<uint8_t>())))); return;              // SHORT_BINUNICODE
      case 0x8d: push(make(std::string(take(little<uint64_t>())))); return;             // BINUNICODE8
      case 'T': push(make(std::string(take(little<uint32_t>())))); return;              // BINSTRING (py2 str)
      case 'U': push(make(std::string(take(little<uint8_t>())))); return;               // SHORT_BINSTRING
      case 'B': push(make(PyBytes{std::string(take(little<uint32_t>()))})); return;     // BINBYTES
      case 'C': push(make(PyBytes{std::string(take(little<uint8_t>()))})); return;      // SHORT_BINBYTES
      case 0x8e: push(make(PyBytes{std::string(take(little<uint64_t>()))})); return;    // BINBYTES8
      case 0x96: push(make(PyBytes{std::string(take(little<uint64_t>()))})); return;    // BYTEARRAY8
      case 'V': push(make(std::string(line()))); return;  // UNICODE (raw-unicode-escape; ASCII in practice)
      case 'S': {                                        // STRING (quoted repr)
        std::string_view quoted = line();
        if (quoted.size() >= 2) quoted = quoted.substr(1, quoted.size() - 2);
        push(make(std::string(quoted)));
        return;
      }
      case ']': push(make(PyList{})); return;   // EMPTY_LIST
      case ')': push(make(PyTuple{})); return;  // EMPTY_TUPLE
      case '}': push(make(PyDict{})); return;   // EMPTY_DICT
      case 0x8f: push(make(PyList{})); return;  // EMPTY_SET (as a list: data only)
      case 'l': {                               // LIST
        auto items = pop_mark();
        push(container(PyList{items}, items));
        return;
      }
      case 't': {  // TUPLE
        auto items = pop_mark();
        push(container(PyTuple{items}, items));
        return;
      }
      case 0x91: {  // FROZENSET
        auto items = pop_mark();
        push(container(PyList{items}, items));
        return;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        std::size_t count = op - 0x84u;
        std::vector<PyRef> items(count);
        for (std::size_t i = count; i-- > 0;) items[i] = pop();
        push(container(PyTuple{items}, items));
        return;
      }
      case 'd': {  // DICT
        auto items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        PyRef dict = make(PyDict{});
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        push(std::move(dict));
        return;
      }
      case 'a': {  // APPEND
        PyRef item = pop();
        append(top(), std::move(item));
        return;
      }
      case 'e':
      case 0x90: {  // APPENDS, ADDITEMS
        auto items = pop_mark();
        for (auto& item : items) append(top(), std::move(item));
        return;
      }
      case 's': {  // SETITEM
        PyRef value = pop();
        PyRef key = pop();
        set_item(top(), std::move(key), std::move(value));
        return;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(top(), items[i], items[i + 1]);
        return;
      }
      case 'c': {  // GLOBAL
        std::string module(line());
        std::string name(line());
        push(global(std::move(module), std::move(name)));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        PyRef name = pop();
        PyRef module = pop();
        if (!as_string(module) || !as_string(name)) fail("STACK_GLOBAL needs two strings");
        push(global(*as_string(module), *as_string(name)));
        return;
      }
      case 'R': {  // REDUCE
        PyRef arguments = pop();
        PyRef callable = pop();
        push(call(callable, arguments));
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        PyRef arguments = pop();
        PyRef cls = pop();
        const auto* global_value = std::get_if<PyGlobal>(&cls->value);
        if (global_value && classify(global_value->module, global_value->name) == Allowed::ordered_dict) {
          PyDict dict;
          dict.ordered = true;
          push(make(std::move(dict)));
          return;
        }
        fail(fmt::format("NEWOBJ of {}: taxon builds no objects but dicts, lists and tensors",
                         global_value ? global_value->module + "." + global_value->name : describe_type(cls)));
      }
      case 'b': {  // BUILD: a dict's attributes (state_dict's _metadata) are kept; a tensor's are not needed
        PyRef state = pop();
        PyRef& target = top();
        if (auto* dict = std::get_if<PyDict>(&target->value)) {
          nest(*target, state);
          dict->state = std::move(state);
        } else if (!std::holds_alternative<PyTensor>(target->value)) {
          fail(fmt::format("BUILD on a {}", describe_type(target)));
        }
        return;
      }
      case 'Q': {  // BINPERSID
        PyRef id = pop();
        if (!options_.persistent_load) fail("a persistent id where none is expected");
        push(options_.persistent_load(id));
        return;
      }
      case 'P': {  // PERSID (text)
        PyRef id = make(std::string(line()));
        if (!options_.persistent_load) fail("a persistent id where none is expected");
        push(options_.persistent_load(id));
        return;
      }
      case 'q': memo_put(little<uint8_t>()); return;    // BINPUT
      case 'r': memo_put(little<uint32_t>()); return;   // LONG_BINPUT
      case 'p': memo_put(static_cast<uint64_t>(parse_int(line()))); return;  // PUT
      case 0x94: memo_put(memo_.size()); return;        // MEMOIZE
      case 'h': memo_get(little<uint8_t>()); return;    // BINGET
      case 'j': memo_get(little<uint32_t>()); return;   // LONG_BINGET
      case 'g': memo_get(static_cast<uint64_t>(parse_int(line()))); return;  // GET
      case 'i':
      case 'o':
      case 0x82:
      case 0x83:
      case 0x84:
      case 0x92:
        fail(fmt::format("opcode 0x{:02x} builds arbitrary objects; taxon reads data only", op));
      default: fail(fmt::format("unknown opcode 0x{:02x}", op));
    }
  }

  int64_t parse_int(std::string_view text_value) {
    int64_t value = 0;
    bool negative = !text_value.empty() && text_value.front() == '-';
    if (negative) text_value.remove_prefix(1);
    if (text_value.empty() || text_value.size() > 18) fail("an integer that is empty or too long");
    for (char c : text_value) {
      if (c < '0' || c > '9') fail("an integer with a non-digit");
      value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
  }

  PyRef long_value(uint64_t length) {
    std::string_view bytes = take(length);
    if (length > 8) return make(PyBigInt{std::string(bytes)});
    uint64_t bits = 0;
    for (std::size_t i = 0; i < length; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    if (length > 0 && length < 8 && (static_cast<uint8_t>(bytes[length - 1]) & 0x80))
      bits |= ~uint64_t{0} << (8 * length);  // sign-extend
    return make(static_cast<int64_t>(bits));
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  const UnpickleOptions& options_;
  std::vector<PyRef> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
  std::vector<std::weak_ptr<PyValue>> containers_;  // every list, tuple and dict made, for ~Unpickler
  std::unordered_map<const PyValue*, std::size_t> result_;  // the containers the returned value holds
};

// While the outermost ~PyValue on this thread runs, the containers it has yet to free.
thread_local std::vector<PyRef>* releasing = nullptr;

}  // namespace

PyValue::~PyValue() {
  std::vector<PyRef> pending;
  std::vector<PyRef>& into = releasing ? *releasing : pending;
  // Every container child is deferred, shared or not: a list holding its child twice sees a count
  // of 2 on each, and the second drop would free it here, recursively. A leaf frees nothing more.
  auto defer = [&into](PyRef& child) {
    if (child && child_count(*child) > 0) into.push_back(std::move(child));
  };
  if (auto* list = std::get_if<PyList>(&value)) std::for_each(list->items.begin(), list->items.end(), defer);
  else if (auto* tuple = std::get_if<PyTuple>(&value)) std::for_each(tuple->items.begin(), tuple->items.end(), defer);
  else if (auto* dict = std::get_if<PyDict>(&value)) {
    for (auto& [key, item] : dict->items) {
      defer(key);
      defer(item);
    }
    defer(dict->state);
  }
  if (releasing || pending.empty()) return;
  releasing = &pending;
  while (!pending.empty()) {
    PyRef next = std::move(pending.back());
    pending.pop_back();
    next.reset();  // its own containers go onto `pending`, not deeper into this stack
  }
  releasing = nullptr;
}

PyRef unpickle(std::string_view bytes, const UnpickleOptions& options, std::size_t* consumed) {
  return Unpickler(bytes, options).run(consumed);
}

const std::string* as_string(const PyRef& value) { return value ? std::get_if<std::string>(&value->value) : nullptr; }
const PyDict* as_dict(const PyRef& value) { return value ? std::get_if<PyDict>(&value->value) : nullptr; }
const PyTensor* as_tensor(const PyRef& value) { return value ? std::get_if<PyTensor>(&value->value) : nullptr; }

std::string describe_type(const PyRef& value) {
  if (!value) return "nothing";
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, PyNone>) return "None";
        else if constexpr (std::is_same_v<V, bool>) return "bool";
        else if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, PyBigInt>) return "int";
        else if constexpr (std::is_same_v<V, double>) return "float";
        else if constexpr (std::is_same_v<V, std::string>) return "str";
        else if constexpr (std::is_same_v<V, PyBytes>) return "bytes";
        else if constexpr (std::is_same_v<V, PyList>) return "list";
        else if constexpr (std::is_same_v<V, PyTuple>) return "tuple";
        else if constexpr (std::is_same_v<V, PyDict>) return v.ordered ? "OrderedDict" : "dict";
        else if constexpr (std::is_same_v<V, PyGlobal>) return v.module + "." + v.name;
        else if constexpr (std::is_same_v<V, PyTensor>) return "Tensor";
        else return "storage";
      },
      value->value);
}

}  // namespace taxon
