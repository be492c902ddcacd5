// The unpickler: the opcode loop, its stack and memo; the values it builds live in pickle_value.cpp.
#include "runtime/pickle.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "runtime/input_error.hpp"
#include "runtime/pickle_classes.hpp"
#include "runtime/pickle_internal.hpp"

namespace taxon {
namespace {

constexpr std::size_t kMaxDepth = kMaxPickleDepth;  // real checkpoints nest < 10 deep
constexpr std::size_t kMaxStack = 4'000'000;        // values on the stack at once

bool is_set(const PyObject& object) { return object.type == "builtins.set" || object.type == "builtins.frozenset"; }

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
        } else if (auto* object = std::get_if<PyObject>(&value->value)) {
          object->args.clear();
          object->items.clear();
          object->entries.clear();
          object->state.reset();
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
        detail::PickleShape shape = detail::measure_pickle(stack_.back(), result_);
        if (shape != detail::PickleShape::fine) {
          result_.clear();  // so that ~Unpickler empties every container, a cycle's too
          if (shape == detail::PickleShape::cycle) fail("a tuple holds itself");
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
        std::holds_alternative<PyDict>(out->value) || std::holds_alternative<PyObject>(out->value))
      containers_.push_back(out);
    return out;
  }

  // An object built by calling `callable` (never called here): recognised as data, or kept opaque.
  PyRef make_object(const PyGlobal& callable, std::vector<PyRef> args, bool newobj) {
    PyObject object;
    object.callable = callable;
    object.newobj = newobj;
    object.args = std::move(args);
    std::string problem = recognise_object(object);
    if (!problem.empty()) fail(problem);
    PyRef out = make(std::move(object));
    for (const auto& item : std::get<PyObject>(out->value).args) nest(*out, item);
    return out;
  }
  PyRef make_set(std::string_view name, std::vector<PyRef> items) {
    PyRef list = container(PyList{items}, items);
    return make_object(PyGlobal{"builtins", std::string(name)}, {std::move(list)}, false);
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

  void append(PyRef& target, PyRef item) {
    if (auto* list = std::get_if<PyList>(&target->value)) {
      nest(*target, item);
      list->items.push_back(std::move(item));
      return;
    }
    if (auto* object = std::get_if<PyObject>(&target->value)) {
      nest(*target, item);
      object->items.push_back(std::move(item));
      return;
    }
    fail(fmt::format("APPEND on a {}", describe_type(target)));
  }
  void add_to_set(PyRef& target, PyRef item) {  // ADDITEMS: into the list a set is built from
    auto* object = std::get_if<PyObject>(&target->value);
    if (!object || !is_set(*object)) fail(fmt::format("ADDITEMS on a {}", describe_type(target)));
    if (object->args.empty()) object->args.push_back(make(PyList{}));
    auto* list = std::get_if<PyList>(&object->args[0]->value);
    if (!list) fail("ADDITEMS on a set built from something other than a list");
    nest(*object->args[0], item);
    nest(*target, object->args[0]);
    list->items.push_back(std::move(item));
  }
  void set_item(PyRef& target, PyRef key, PyRef value) {
    if (auto* dict = std::get_if<PyDict>(&target->value)) {
      nest(*target, value);
      dict->items.emplace_back(std::move(key), std::move(value));
      return;
    }
    if (auto* object = std::get_if<PyObject>(&target->value)) {
      nest(*target, key);
      nest(*target, value);
      object->entries.emplace_back(std::move(key), std::move(value));
      return;
    }
    fail(fmt::format("SETITEM on a {}", describe_type(target)));
  }

  PyRef global(std::string module, std::string name) {
    GlobalClass found = classify_global(module, name);
    if (found.role == GlobalRole::hostile || found.role == GlobalRole::refused)
      throw InputError(code::forbidden_global,
                       fmt::format("{}: refusing the pickled global {}.{}: {}{}", options_.context, module, name, found.reason,
                                   found.role == GlobalRole::hostile ? "; taxon refuses the whole file" : ""));
    return make(PyGlobal{std::move(module), std::move(name), found.role == GlobalRole::opaque});
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
    switch (classify_global(function->module, function->name).role) {
      case GlobalRole::ordered_dict: {
        PyDict dict;
        dict.ordered = true;
        PyRef out = make(std::move(dict));
        if (!args.empty())  // OrderedDict([(key, value), ...])
          if (const auto* pairs = std::get_if<PyList>(&args[0]->value))
            for (const auto& pair : pairs->items) {
              const auto* kv = std::get_if<PyTuple>(&pair->value);
              if (!kv || kv->items.size() != 2) fail("OrderedDict is built from (key, value) pairs");
              set_item(out, kv->items[0], kv->items[1]);
            }
        return out;
      }
      case GlobalRole::rebuild_tensor_v2: return rebuild_tensor(args, true);
      case GlobalRole::rebuild_tensor: return rebuild_tensor(args, false);
      case GlobalRole::rebuild_parameter: {
        if (args.size() < 2) fail("a parameter is rebuilt from (data, requires_grad, ...)");
        const auto* data = std::get_if<PyTensor>(&args[0]->value);
        if (!data) fail("a parameter's data must be a tensor");
        PyTensor parameter = *data;
        if (const auto* flag = std::get_if<bool>(&args[1]->value)) parameter.tensor.requires_grad = *flag;
        return make(std::move(parameter));
      }
      case GlobalRole::rebuild_from_type_v2: {
        // (function, type, args, state): only the tensor rebuilders, applied to their arguments.
        if (args.size() < 3) fail("_rebuild_from_type_v2 takes (function, type, args, state)");
        return call(args[0], args[2]);
      }
      case GlobalRole::torch_size: {
        if (args.empty()) return make(PyTuple{});
        return args[0];
      }
      case GlobalRole::builtins_bytes:
        if (args.empty()) return make(PyBytes{});
        if (const auto* bytes = std::get_if<PyBytes>(&args[0]->value)) return make(PyBytes{bytes->data});
        if (args.size() == 2 && as_string(args[0]) && as_string(args[1]) && *as_string(args[1]) != "latin1" &&
            *as_string(args[1]) != "latin-1")
          return make(PyBytes{*as_string(args[0])});  // bytes(text, "utf-8"): text is kept as UTF-8
        [[fallthrough]];
      case GlobalRole::codecs_encode: {  // protocol 2 writes bytes as _codecs.encode(str, "latin1")
        if (args.empty()) fail("_codecs.encode needs a string");
        if (!as_string(args[0])) fail(fmt::format("bytes from a {}", describe_type(args[0])));
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
      case GlobalRole::getattr_: {
        // Protocols 0-3 spell a nested class Outer.Inner as getattr(Outer, "Inner"): read it as the
        // dotted global protocol 4 would name, judged like one. No other attribute lookup is data.
        const auto* owner = args.size() == 2 ? std::get_if<PyGlobal>(&args[0]->value) : nullptr;
        const std::string* attribute = args.size() == 2 ? as_string(args[1]) : nullptr;
        bool plain = attribute && !attribute->empty() && !(attribute->front() >= '0' && attribute->front() <= '9') &&
                     !attribute->starts_with("__") &&
                     std::all_of(attribute->begin(), attribute->end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
                     });
        if (!owner || !plain)
          throw InputError(code::forbidden_global,
                           fmt::format("{}: refusing builtins.getattr on {}: an attribute lookup other than a nested "
                                       "class's name runs code when the file is unpickled; taxon refuses the whole file",
                                       options_.context, args.empty() ? std::string("nothing") : describe_type(args[0])));
        return global(owner->module, owner->name + "." + *attribute);
      }
      case GlobalRole::data:
      case GlobalRole::opaque: return make_object(*function, args, false);
      case GlobalRole::hostile:
      case GlobalRole::refused: break;  // refused when the global was read
    }
    fail(fmt::format("{} cannot be called here", function->path()));
  }

  PyRef new_object(const PyRef& cls, std::vector<PyRef> args) {  // NEWOBJ: cls.__new__(cls, *args)
    const auto* type = std::get_if<PyGlobal>(&cls->value);
    if (!type) fail(fmt::format("NEWOBJ of a {}, not a class", describe_type(cls)));
    if (classify_global(type->module, type->name).role == GlobalRole::ordered_dict) {
      PyDict dict;
      dict.ordered = true;
      return make(std::move(dict));
    }
    return make_object(*type, std::move(args), true);
  }

  void build(PyRef state) {  // BUILD: a dict's attributes (a state_dict's _metadata), an object's state
    PyRef& target = top();
    if (auto* dict = std::get_if<PyDict>(&target->value)) {
      nest(*target, state);
      dict->state = std::move(state);
    } else if (auto* object = std::get_if<PyObject>(&target->value)) {
      if (object->state) fail(fmt::format("a second BUILD on one {}", object->type));
      nest(*target, state);
      object->state = std::move(state);
      std::string problem = check_object_state(*object);
      if (!problem.empty()) fail(problem);
    } else if (!std::holds_alternative<PyTensor>(target->value)) {  // a tensor's attributes are not needed
      fail(fmt::format("BUILD on a {}", describe_type(target)));
    }
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
      case 0x96: {                                                                     // BYTEARRAY8
        PyRef bytes = make(PyBytes{std::string(take(little<uint64_t>()))});
        push(make_object(PyGlobal{"builtins", "bytearray"}, {std::move(bytes)}, false));
        return;
      }
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
      case 0x8f: push(make_set("set", {})); return;  // EMPTY_SET
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
      case 0x91: push(make_set("frozenset", pop_mark())); return;  // FROZENSET
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
      case 'e': {  // APPENDS
        auto items = pop_mark();
        for (auto& item : items) append(top(), std::move(item));
        return;
      }
      case 0x90: {  // ADDITEMS
        auto items = pop_mark();
        for (auto& item : items) add_to_set(top(), std::move(item));
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
      case 0x81: {  // NEWOBJ
        PyRef arguments = pop();
        PyRef cls = pop();
        const auto* tuple = std::get_if<PyTuple>(&arguments->value);
        if (!tuple) fail("NEWOBJ's arguments must be a tuple");
        push(new_object(cls, tuple->items));
        return;
      }
      case 0x92: {  // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
        PyRef kwargs = pop();
        PyRef arguments = pop();
        PyRef cls = pop();
        const auto* tuple = std::get_if<PyTuple>(&arguments->value);
        const PyDict* named = as_dict(kwargs);
        if (!tuple || !named) fail("NEWOBJ_EX takes a class, a tuple and a dict");
        if (!named->items.empty()) fail("NEWOBJ_EX with keyword arguments; taxon writes objects back without them");
        push(new_object(cls, tuple->items));
        return;
      }
      case 'i': {  // INST (protocols 0 and 1): module, name, then the arguments above a MARK
        std::string module(line());
        std::string name(line());
        PyRef cls = global(std::move(module), std::move(name));
        auto args = pop_mark();
        push(call(cls, make(PyTuple{std::move(args)})));
        return;
      }
      case 'o': {  // OBJ: MARK, the class, its arguments
        auto items = pop_mark();
        if (items.empty()) fail("OBJ without a class");
        PyRef cls = items.front();
        items.erase(items.begin());
        push(call(cls, make(PyTuple{std::move(items)})));
        return;
      }
      case 'b': build(pop()); return;  // BUILD
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
      case 0x82:
      case 0x83:
      case 0x84:  // EXT1, EXT2, EXT4: globals from copyreg's extension registry, which only the writer's Python knows
        fail(fmt::format("opcode 0x{:02x} names a global through copyreg's extension registry; taxon cannot tell what it is", op));
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

}  // namespace

PyRef unpickle(std::string_view bytes, const UnpickleOptions& options, std::size_t* consumed) {
  return Unpickler(bytes, options).run(consumed);
}

}  // namespace taxon
