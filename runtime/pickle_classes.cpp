#include "runtime/pickle_classes.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "runtime/dtype.hpp"

namespace taxon {
namespace {

// How a data class is built and what its arguments and state must look like.
enum class Kind {
  none,              // not a data class
  value,             // only ever named, never called: dtypes, storages, builtins types, typing.Any, numpy.ndarray
  numpy_reconstruct, // numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'), then BUILD (version, shape, dtype, fortran, data)
  numpy_scalar,      // numpy.core.multiarray.scalar(dtype, bytes)
  numpy_dtype,       // numpy.dtype('f8', False, True), then BUILD (version, byteorder, ...)
  namespace_,        // argparse.Namespace / types.SimpleNamespace, then BUILD {attribute: value}
  omegaconf_dict,    // DictConfig, then BUILD {"_metadata": ..., "_content": {...}, ...}
  omegaconf_list,    // ListConfig, then BUILD {..., "_content": [...]}
  omegaconf_part,    // omegaconf's node and metadata classes, then BUILD {...}
  path,              // pathlib.PosixPath('/', 'a', 'b')
  defaultdict,       // collections.defaultdict(factory), then SETITEMS
  deque,             // collections.deque((), maxlen), then APPENDS
  counter,           // collections.Counter({...})
  datetime,          // datetime.datetime(10 bytes[, tzinfo])
  date,              // datetime.date(4 bytes)
  time,              // datetime.time(6 bytes[, tzinfo])
  timedelta,         // datetime.timedelta(days, seconds, microseconds)
  timezone,          // datetime.timezone(timedelta[, name])
  set,               // builtins.set([items]) / frozenset([items])
  slice,             // builtins.slice(start, stop, step)
  complex,           // builtins.complex(real, imag)
  bytearray,         // builtins.bytearray(bytes)
  torch_device,      // torch.device('cuda', 0)
  reconstructor,     // copyreg._reconstructor(cls, base, state) / copyreg.__newobj__(cls, *args): an instance of args[0]
  typing_subscript,  // operator.getitem(typing.Union, (int, NoneType)): Optional[int] in omegaconf's metadata
  type_of,           // builtins.type(None): NoneType
};

struct Entry {
  std::string_view module, name;
  Kind kind;
};

constexpr std::array kDataClasses = std::to_array<Entry>({
    {"numpy.core.multiarray", "_reconstruct", Kind::numpy_reconstruct},
    {"numpy.core.multiarray", "scalar", Kind::numpy_scalar},
    {"numpy", "dtype", Kind::numpy_dtype},
    {"numpy", "ndarray", Kind::value},
    {"argparse", "Namespace", Kind::namespace_},
    {"types", "SimpleNamespace", Kind::namespace_},
    {"omegaconf.dictconfig", "DictConfig", Kind::omegaconf_dict},
    {"omegaconf.listconfig", "ListConfig", Kind::omegaconf_list},
    {"omegaconf.base", "ContainerMetadata", Kind::omegaconf_part},
    {"omegaconf.base", "Metadata", Kind::omegaconf_part},
    {"omegaconf.nodes", "AnyNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "StringNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "IntegerNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "FloatNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "BooleanNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "BytesNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "PathNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "EnumNode", Kind::omegaconf_part},
    {"omegaconf.nodes", "InterpolationResultNode", Kind::omegaconf_part},
    {"typing", "Any", Kind::value},
    {"typing", "Union", Kind::value},
    {"typing", "Optional", Kind::value},
    {"typing", "List", Kind::value},
    {"typing", "Dict", Kind::value},
    {"typing", "Tuple", Kind::value},
    {"operator", "getitem", Kind::typing_subscript},
    {"pathlib", "Path", Kind::path},
    {"pathlib", "PosixPath", Kind::path},
    {"pathlib", "WindowsPath", Kind::path},
    {"pathlib", "PurePath", Kind::path},
    {"pathlib", "PurePosixPath", Kind::path},
    {"pathlib", "PureWindowsPath", Kind::path},
    {"collections", "defaultdict", Kind::defaultdict},
    {"collections", "deque", Kind::deque},
    {"collections", "Counter", Kind::counter},
    {"datetime", "datetime", Kind::datetime},
    {"datetime", "date", Kind::date},
    {"datetime", "time", Kind::time},
    {"datetime", "timedelta", Kind::timedelta},
    {"datetime", "timezone", Kind::timezone},
    {"builtins", "set", Kind::set},
    {"builtins", "frozenset", Kind::set},
    {"builtins", "slice", Kind::slice},
    {"builtins", "complex", Kind::complex},
    {"builtins", "bytearray", Kind::bytearray},
    {"builtins", "type", Kind::type_of},
    {"builtins", "object", Kind::value},
    {"builtins", "int", Kind::value},
    {"builtins", "long", Kind::value},
    {"builtins", "float", Kind::value},
    {"builtins", "str", Kind::value},
    {"builtins", "unicode", Kind::value},
    {"builtins", "bytes", Kind::value},
    {"builtins", "bool", Kind::value},
    {"builtins", "dict", Kind::value},
    {"builtins", "list", Kind::value},
    {"builtins", "tuple", Kind::value},
    {"types", "NoneType", Kind::value},
    {"torch", "device", Kind::torch_device},
    {"torch", "Tensor", Kind::value},
    {"torch.nn.parameter", "Parameter", Kind::value},
    {"torch", "UntypedStorage", Kind::value},
    {"torch.storage", "UntypedStorage", Kind::value},
    {"copyreg", "_reconstructor", Kind::reconstructor},
    {"copyreg", "__newobj__", Kind::reconstructor},
});

// Modules every name of which runs code, opens files or reaches the network.
constexpr std::array kHostileModules = std::to_array<std::string_view>({
    "os",        "posix",      "nt",         "subprocess", "_posixsubprocess", "sys",        "shutil",     "socket",
    "importlib", "imp",        "runpy",      "code",       "codeop",           "pickle",     "_pickle",    "cPickle",
    "marshal",   "pty",        "ctypes",     "_ctypes",    "multiprocessing",  "webbrowser", "pdb",        "bdb",
    "timeit",    "cProfile",   "profile",    "trace",      "commands",         "popen2",     "platform",   "signal",
    "asyncio",   "shelve",     "dill",       "cloudpickle", "urllib",          "http",       "ftplib",     "smtplib",
    "telnetlib", "requests",   "zipimport",  "pkgutil",    "site",             "sysconfig",  "threading",  "_thread",
    "inspect",   "pydoc",      "venv",       "ensurepip",  "distutils",        "setuptools", "pip",        "tempfile",
    "glob",      "fileinput",  "linecache",  "torch.hub",  "torch.jit",        "torch.package",    "numpy.testing",
    "numpy.f2py", "numpy.distutils", "builtins.__builtins__",
});

struct Name {
  std::string_view module, name;
};
constexpr std::array kHostileNames = std::to_array<Name>({
    {"builtins", "eval"},        {"builtins", "exec"},          {"builtins", "execfile"},   {"builtins", "compile"},
    {"builtins", "setattr"},       {"builtins", "delattr"},    {"builtins", "__import__"},
    {"builtins", "open"},        {"builtins", "input"},         {"builtins", "breakpoint"}, {"builtins", "globals"},
    {"builtins", "locals"},      {"builtins", "vars"},          {"builtins", "apply"},      {"builtins", "reload"},
    {"builtins", "exit"},        {"builtins", "quit"},          {"builtins", "help"},       {"builtins", "file"},
    {"operator", "attrgetter"},  {"operator", "methodcaller"},  {"functools", "reduce"},    {"builtins", "reduce"},
    {"copyreg", "pickle"},
    {"copyreg", "constructor"},  {"copyreg", "add_extension"},  {"types", "FunctionType"},  {"types", "CodeType"},
    {"types", "LambdaType"},     {"types", "MethodType"},       {"types", "ModuleType"},    {"io", "open"},
    {"io", "open_code"},         {"io", "FileIO"},              {"numpy", "load"},          {"numpy", "loadtxt"},
    {"numpy", "fromfile"},       {"numpy.lib.npyio", "load"},   {"torch", "load"},          {"torch.serialization", "load"},
    {"torch", "from_file"},      {"torch.utils.cpp_extension", "load"}, {"torch.utils.cpp_extension", "load_inline"},
    {"torch.ops", "load_library"}, {"torch._ops", "load_library"},
});

bool in_module(std::string_view module, std::string_view root) {
  return module == root || (module.starts_with(root) && module.size() > root.size() && module[root.size()] == '.');
}

// Python 2 and numpy 2 spellings of the same modules.
std::string normal_module(std::string_view module) {
  if (module == "__builtin__") return "builtins";
  if (module == "copy_reg") return "copyreg";
  if (module == "_operator") return "operator";
  if (module == "_io") return "io";
  if (module.starts_with("numpy._core")) return "numpy.core" + std::string(module.substr(11));
  return std::string(module);
}

bool is_dunder(std::string_view part) { return part.size() > 4 && part.starts_with("__") && part.ends_with("__"); }

bool hostile_pair(std::string_view module, std::string_view name) {
  for (auto root : kHostileModules)
    if (in_module(module, root)) return true;
  for (const auto& entry : kHostileNames)
    if (entry.module == module && entry.name == name) return true;
  return false;
}

std::optional<GlobalClass> hostile(std::string_view module, std::string_view name) {
  const char* runs = "it runs code when the file is unpickled";
  if (hostile_pair(module, name)) return GlobalClass{GlobalRole::hostile, runs};
  // A dotted name walks attributes (protocol 4): `object.__subclasses__`, `serialization.os.system`;
  // a plain one can name a module another module imported (`torch.serialization` `os`). Every split
  // of module + name is judged as if it were the global, so reaching a denied module or callable
  // through another module's attributes is refused like naming it.
  std::string path = std::string(module) + "." + std::string(name);
  std::size_t start = module.size() + 1;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string_view part = std::string_view(path).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (is_dunder(part)) return GlobalClass{GlobalRole::hostile, "it reaches a special attribute, the way exploits reach code"};
    std::string_view before = std::string_view(path).substr(0, start - 1);
    static constexpr std::array<std::string_view, 16> kModulesByAttribute = {
        "os",      "posix",  "nt",      "subprocess", "sys",    "builtins", "__builtin__", "importlib",
        "runpy",   "pickle", "marshal", "ctypes",     "shutil", "socket",   "pty",         "__builtins__"};
    if (std::find(kModulesByAttribute.begin(), kModulesByAttribute.end(), part) != kModulesByAttribute.end())
      return GlobalClass{GlobalRole::hostile, runs};
    for (auto root : kHostileModules)
      if (in_module(std::string(before) + "." + std::string(part), root)) return GlobalClass{GlobalRole::hostile, runs};
    if (hostile_pair(before, part)) return GlobalClass{GlobalRole::hostile, runs};
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

Kind kind_of(const PyGlobal& global) {
  std::string module = normal_module(global.module);
  for (const auto& entry : kDataClasses)
    if (entry.module == module && entry.name == global.name) return entry.kind;
  return Kind::none;
}

bool is_torch_value(std::string_view module, std::string_view name) {
  if (module != "torch") return false;
  if (name.ends_with("Storage") && dtype_from_storage_class(name)) return true;
  return dtype_from_name(name) || name == "float" || name == "half" || name == "double" || name == "long" || name == "int" ||
         name == "bool" || name == "uint8" || name == "qint8" || name == "quint8" || name == "cfloat" || name == "cdouble";
}

// Argument helpers: what a value is, in the words of the messages.
const PyGlobal* as_global(const PyRef& value) { return value ? std::get_if<PyGlobal>(&value->value) : nullptr; }
bool is_none(const PyRef& value) { return value && std::holds_alternative<PyNone>(value->value); }
bool is_int(const PyRef& value) { return value && (std::holds_alternative<int64_t>(value->value) || std::holds_alternative<bool>(value->value)); }
bool is_number(const PyRef& value) { return is_int(value) || (value && std::holds_alternative<double>(value->value)); }
const std::string* bytes_of(const PyRef& value) {
  if (!value) return nullptr;
  if (const auto* bytes = std::get_if<PyBytes>(&value->value)) return &bytes->data;
  return std::get_if<std::string>(&value->value);  // protocol 0 and 1 spell bytes as latin-1 text
}
const std::vector<PyRef>* sequence(const PyRef& value) {
  if (!value) return nullptr;
  if (const auto* tuple = std::get_if<PyTuple>(&value->value)) return &tuple->items;
  if (const auto* list = std::get_if<PyList>(&value->value)) return &list->items;
  return nullptr;
}

// numpy's element size: the dtype's state (elsize) when it gives one, else its name ('f8', 'U5' = 5 characters of 4 bytes).
std::optional<uint64_t> numpy_itemsize(const PyRef& dtype) {
  const PyObject* object = as_object(dtype);
  if (!object || kind_of(object->callable) != Kind::numpy_dtype || object->args.empty()) return std::nullopt;
  if (const auto* state = sequence(object->state); state && state->size() > 5)
    if (const auto* elsize = std::get_if<int64_t>(&(*state)[5]->value); elsize && *elsize > 0) return static_cast<uint64_t>(*elsize);
  const std::string* descr = as_string(object->args[0]);
  if (!descr || descr->size() < 2) return std::nullopt;
  uint64_t count = 0;
  for (char c : std::string_view(*descr).substr(1)) {
    if (c < '0' || c > '9' || count > (uint64_t{1} << 40)) return std::nullopt;
    count = count * 10 + static_cast<uint64_t>(c - '0');
  }
  return descr->front() == 'U' ? 4 * count : count;
}

bool is_object_dtype(const PyRef& dtype) {
  const PyObject* object = as_object(dtype);
  const std::string* descr = object && !object->args.empty() ? as_string(object->args[0]) : nullptr;
  return descr && descr->starts_with("O");
}

std::string count_problem(std::string_view what, std::size_t got, std::size_t low, std::size_t high) {
  if (got >= low && got <= high) return "";
  if (low == high) return fmt::format("{} takes {} argument{}, not {}", what, low, low == 1 ? "" : "s", got);
  return fmt::format("{} takes {} to {} arguments, not {}", what, low, high, got);
}

std::string check_arguments(Kind kind, const PyObject& object) {
  const auto& args = object.args;
  const std::string& type = object.type;
  switch (kind) {
    case Kind::numpy_reconstruct: {
      if (auto problem = count_problem(type, args.size(), 3, 3); !problem.empty()) return problem;
      const PyGlobal* cls = as_global(args[0]);
      if (!cls || kind_of(*cls) != Kind::value || cls->name != "ndarray") return "numpy's _reconstruct builds a numpy.ndarray";
      return "";
    }
    case Kind::numpy_scalar: {
      if (auto problem = count_problem("a numpy scalar", args.size(), 1, 2); !problem.empty()) return problem;
      auto itemsize = numpy_itemsize(args[0]);
      if (!itemsize) return "a numpy scalar's first argument must be a numpy.dtype";
      if (is_object_dtype(args[0])) return "";
      const std::string* bytes = args.size() == 2 ? bytes_of(args[1]) : nullptr;
      if (!bytes) return "a numpy scalar's value must be bytes";
      if (bytes->size() != *itemsize)
        return fmt::format("a numpy scalar of {} bytes holds {} bytes", *itemsize, bytes->size());
      return "";
    }
    case Kind::numpy_dtype: {
      const std::string* descr = args.empty() ? nullptr : as_string(args[0]);
      if (!descr) return "numpy.dtype is built from its name ('f8', 'i4', ...)";
      bool digits = descr->size() > 1 && std::all_of(descr->begin() + 1, descr->end(), [](char c) { return c >= '0' && c <= '9'; });
      if (descr->empty() || std::string_view("biufcSUVOMm").find(descr->front()) == std::string_view::npos ||
          (descr->size() > 1 && !digits))
        return fmt::format("'{}' is not a numpy dtype name ('f8', 'i4', 'U5', 'V12', ...)", *descr);
      return "";
    }
    case Kind::path:
      for (const auto& part : args)
        if (!as_string(part)) return fmt::format("{} is built from strings, not {}", type, describe_type(part));
      return "";
    case Kind::defaultdict:
      if (auto problem = count_problem(type, args.size(), 0, 1); !problem.empty()) return problem;
      return "";
    case Kind::deque:
      if (auto problem = count_problem(type, args.size(), 0, 2); !problem.empty()) return problem;
      if (args.size() == 2 && !is_none(args[1]) && !is_int(args[1])) return "a deque's maxlen must be an integer or None";
      return "";
    case Kind::counter:
      if (auto problem = count_problem(type, args.size(), 0, 1); !problem.empty()) return problem;
      if (!args.empty() && !as_dict(args[0])) return "a Counter is built from a dict";
      return "";
    case Kind::datetime:
    case Kind::date:
    case Kind::time: {
      std::size_t size = kind == Kind::datetime ? 10 : kind == Kind::date ? 4 : 6;
      if (auto problem = count_problem(type, args.size(), 1, kind == Kind::date ? 1 : 2); !problem.empty()) return problem;
      const std::string* bytes = bytes_of(args[0]);
      if (!bytes) return fmt::format("{} is built from bytes, not {}", type, describe_type(args[0]));
      if (bytes->size() != size) return fmt::format("{} is built from {} bytes, not {}", type, size, bytes->size());
      return "";
    }
    case Kind::timedelta:
      if (auto problem = count_problem(type, args.size(), 3, 3); !problem.empty()) return problem;
      if (!std::all_of(args.begin(), args.end(), is_int)) return "a timedelta is built from three integers";
      return "";
    case Kind::timezone:
      if (auto problem = count_problem(type, args.size(), 1, 2); !problem.empty()) return problem;
      return "";
    case Kind::set:
      if (auto problem = count_problem(type, args.size(), 0, 1); !problem.empty()) return problem;
      if (!args.empty() && !sequence(args[0])) return fmt::format("{} is built from a list", type);
      return "";
    case Kind::slice: return count_problem(type, args.size(), 1, 3);
    case Kind::complex:
      if (args.size() == 1 && as_string(args[0])) return "";
      if (auto problem = count_problem(type, args.size(), 0, 2); !problem.empty()) return problem;
      if (!std::all_of(args.begin(), args.end(), is_number)) return "a complex is built from two numbers";
      return "";
    case Kind::bytearray:
      if (auto problem = count_problem(type, args.size(), 0, 2); !problem.empty()) return problem;
      if (!args.empty() && !bytes_of(args[0])) return "a bytearray is built from bytes";
      return "";
    case Kind::torch_device:
      if (auto problem = count_problem(type, args.size(), 1, 2); !problem.empty()) return problem;
      if (!as_string(args[0])) return "a torch.device is built from its name ('cuda', 'cpu:0')";
      return "";
    default: return "";
  }
}

}  // namespace

GlobalClass classify_global(std::string_view raw_module, std::string_view name) {
  std::string module = normal_module(raw_module);
  if (auto found = hostile(module, name)) return *found;
  if (module == "torch._utils" && name == "_rebuild_qtensor")
    return {GlobalRole::refused, "it rebuilds a quantized tensor, which taxon does not read; dequantize before saving"};
  if (module == "torch._utils" && name == "_rebuild_sparse_tensor")
    return {GlobalRole::refused, "it rebuilds a sparse tensor, which taxon does not read; save `.to_dense()` instead"};
  if (module.starts_with("__torch__"))
    return {GlobalRole::refused, "it is a TorchScript class: this is a torch.jit.save archive, not a torch.save checkpoint"};
  if (module == "collections" && name == "OrderedDict") return {GlobalRole::ordered_dict, {}};
  if (module == "torch._utils") {
    if (name == "_rebuild_tensor_v2") return {GlobalRole::rebuild_tensor_v2, {}};
    if (name == "_rebuild_tensor") return {GlobalRole::rebuild_tensor, {}};
    if (name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state") return {GlobalRole::rebuild_parameter, {}};
  }
  if (module == "torch._tensor" && name == "_rebuild_from_type_v2") return {GlobalRole::rebuild_from_type_v2, {}};
  if (module == "torch" && name == "Size") return {GlobalRole::torch_size, {}};
  if (module == "_codecs" && name == "encode") return {GlobalRole::codecs_encode, {}};
  if (module == "builtins" && name == "bytes") return {GlobalRole::builtins_bytes, {}};
  if (module == "builtins" && name == "getattr") return {GlobalRole::getattr_, {}};
  if (is_torch_value(module, name) || kind_of(PyGlobal{module, std::string(name)}) != Kind::none) return {GlobalRole::data, {}};
  return {GlobalRole::opaque, {}};
}

std::string recognise_object(PyObject& object) {
  Kind kind = kind_of(object.callable);
  object.type = normal_module(object.callable.module) + "." + object.callable.name;
  object.opaque = false;
  switch (kind) {
    case Kind::none:
      object.opaque = true;
      return "";
    case Kind::value:  // builtins.int(...) and the like: not how these pickle, so someone's own reduction
      object.opaque = true;
      return "";
    case Kind::numpy_reconstruct: object.type = "numpy.ndarray"; break;
    case Kind::numpy_scalar: object.type = "numpy scalar"; break;
    case Kind::reconstructor: {
      // An instance of args[0], made without calling its constructor: data if that class is.
      const PyGlobal* cls = object.args.empty() ? nullptr : as_global(object.args[0]);
      if (!cls) return fmt::format("{} needs a class as its first argument", object.type);
      object.type = normal_module(cls->module) + "." + cls->name;
      Kind made = kind_of(*cls);
      object.opaque = made != Kind::namespace_;
      return "";
    }
    case Kind::typing_subscript: {  // Optional[int]: typing forms only; any other subscript is someone's code
      const PyGlobal* form = object.args.empty() ? nullptr : as_global(object.args[0]);
      object.opaque = !form || normal_module(form->module) != "typing";
      return "";
    }
    case Kind::type_of:  // type(None) is NoneType; type(name, bases, dict) makes a class
      object.opaque = !(object.args.size() == 1 && is_none(object.args[0]));
      return "";
    default: break;
  }
  return check_arguments(kind, object);
}

std::string check_object_state(const PyObject& object) {
  if (object.opaque) return "";
  Kind kind = object.callable.opaque ? Kind::none : kind_of(object.callable);
  if (kind == Kind::reconstructor && !object.args.empty())
    if (const PyGlobal* cls = as_global(object.args[0])) kind = kind_of(*cls);
  const PyRef& state = object.state;
  switch (kind) {
    case Kind::numpy_reconstruct: {
      const auto* fields = sequence(state);
      if (!fields || (fields->size() != 4 && fields->size() != 5))
        return "a numpy array's state is (version, shape, dtype, is_fortran, data)";
      std::size_t at = fields->size() - 4;
      const auto* shape = sequence((*fields)[at]);
      if (!shape) return "a numpy array's shape must be a tuple";
      uint64_t count = 1;
      for (const auto& size : *shape) {
        const auto* n = std::get_if<int64_t>(&size->value);
        if (!n || *n < 0) return "a numpy array's shape holds a negative or non-integer size";
        if (*n != 0 && count > UINT64_MAX / static_cast<uint64_t>(*n)) return "a numpy array's shape overflows";
        count *= static_cast<uint64_t>(*n);
      }
      const PyRef& dtype = (*fields)[at + 1];
      auto itemsize = numpy_itemsize(dtype);
      if (!itemsize) return "a numpy array's dtype must be a numpy.dtype";
      const PyRef& data = (*fields)[at + 3];
      if (is_object_dtype(dtype)) {
        const auto* items = sequence(data);
        if (!items || items->size() != count)
          return fmt::format("a numpy object array of {} elements holds {}", count,
                             items ? std::to_string(items->size()) : describe_type(data));
        return "";
      }
      const std::string* bytes = bytes_of(data);
      if (!bytes) return fmt::format("a numpy array's data must be bytes, not {}", describe_type(data));
      if (*itemsize != 0 && count > UINT64_MAX / *itemsize) return "a numpy array's size overflows";
      if (bytes->size() != count * *itemsize)
        return fmt::format("a numpy array of {} elements of {} bytes needs {} bytes; its data holds {}", count, *itemsize,
                           count * *itemsize, bytes->size());
      return "";
    }
    case Kind::numpy_dtype: {
      const auto* fields = sequence(state);
      if (!fields || fields->size() < 8) return "a numpy.dtype's state is (version, byteorder, ..., elsize, alignment, flags)";
      return "";
    }
    case Kind::namespace_:
      if (!state) return "";
      if (const PyDict* dict = as_dict(state)) {
        for (const auto& [key, value] : dict->items)
          if (!as_string(key)) return fmt::format("{}: its attributes must be named by strings", object.type);
        return "";
      }
      return fmt::format("{}: its state must be a dict of attributes, not {}", object.type, describe_type(state));
    case Kind::omegaconf_dict:
    case Kind::omegaconf_list: {
      const PyDict* dict = as_dict(state);
      if (!dict) return fmt::format("{}: its state must be a dict, not {}", object.type, describe_type(state));
      bool has_metadata = false;
      for (const auto& [key, value] : dict->items) {
        const std::string* name = as_string(key);
        if (!name) continue;
        if (*name == "_metadata") has_metadata = as_object(value) != nullptr;
        if (*name != "_content") continue;
        bool fits = is_none(value) || as_string(value) ||
                    (kind == Kind::omegaconf_dict ? as_dict(value) != nullptr
                                                  : value && std::holds_alternative<PyList>(value->value));
        if (!fits)
          return fmt::format("{}: its _content must be a {}, None or an interpolation string, not {}", object.type,
                             kind == Kind::omegaconf_dict ? "dict" : "list", describe_type(value));
      }
      if (!has_metadata) return fmt::format("{}: its state has no _metadata", object.type);
      return "";
    }
    case Kind::omegaconf_part:
      if (state && !as_dict(state)) return fmt::format("{}: its state must be a dict, not {}", object.type, describe_type(state));
      return "";
    case Kind::none: return "";
    default:
      // Classes whose state Python's default BUILD would set as attributes: a dict, or (dict, slots).
      if (state && !as_dict(state) && !sequence(state))
        return fmt::format("{} cannot take a {} as its state", object.type, describe_type(state));
      return "";
  }
}

}  // namespace taxon
