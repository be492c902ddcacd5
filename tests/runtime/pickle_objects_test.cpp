// The unpickler's three kinds of global (data, hostile, opaque), checked on
// hand-written pickles, and what the .pt writer and nested_root make of them.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"
#include "runtime/pickle.hpp"

using namespace taxon;
using namespace std::string_literals;  // pickles hold NUL bytes

namespace {

PyRef read(const std::string& bytes) {
  UnpickleOptions options;
  options.context = "test";
  return unpickle(bytes, options);
}

std::string error_of(const std::string& bytes) {
  try {
    read(bytes);
  } catch (const InputError& error) {
    return std::string(error.code()) + " " + error.what();
  }
  return "";
}

std::string bin_unicode(const std::string& text) {
  uint32_t n = static_cast<uint32_t>(text.size());
  std::string out(1, 'X');
  out.append(reinterpret_cast<const char*>(&n), 4);
  return out.append(text);
}

// numpy's pickle of np.arange(6, dtype=np.float32).reshape(2, 3), protocol 2, with `data` as its bytes.
std::string numpy_array(const std::string& shape_ops, const std::string& data) {
  return "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n" "K\x00\x85"s +
         std::string("C\x01") + "b" + "\x87R" + "(K\x01" + shape_ops + "cnumpy\ndtype\n" + bin_unicode("f4") +
         "\x89\x88\x87R" + "(K\x03" + bin_unicode("<") + "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"s + "\x89" + "B" +
         [&] {
           uint32_t n = static_cast<uint32_t>(data.size());
           return std::string(reinterpret_cast<const char*>(&n), 4);
         }() +
         data + "tb.";
}

}  // namespace

TEST_CASE("a numpy array is data: its bytes must be what its shape and dtype need") {
  PyRef array = read(numpy_array("K\x02K\x03\x86", std::string(24, '\0')));
  const PyObject* object = as_object(array);
  REQUIRE(object);
  CHECK(object->type == "numpy.ndarray");
  CHECK_FALSE(object->opaque);
  CHECK(object->state);

  std::string lying = error_of(numpy_array("M\xe8\x03M\xe8\x03\x86", std::string(16, '\0')));  // (1000, 1000) in 16 bytes
  CHECK(lying.starts_with("T0606"));
  CHECK(lying.find("1000000 elements of 4 bytes needs 4000000 bytes; its data holds 16") != std::string::npos);
}

TEST_CASE("an unknown class is opaque - a hostile callable anywhere refuses the file") {
  // mypkg.Thing(1) with state {"x": 2}
  PyRef thing = read("\x80\x02" "cmypkg\nThing\n" "K\x01\x85R" "}" + bin_unicode("x") + "K\x02sb.");
  const PyObject* object = as_object(thing);
  REQUIRE(object);
  CHECK(object->opaque);
  CHECK(object->type == "mypkg.Thing");
  CHECK(object->args.size() == 1);

  // os.system hidden in the arguments, in the state, behind copyreg, inside functools.partial.
  for (const std::string& hostile : {
           std::string("\x80\x02" "cmypkg\nThing\n" "cos\nsystem\n\x85R."),
           "\x80\x02" "cmypkg\nThing\n)\x81}" + bin_unicode("f") + "cposix\nsystem\nsb.",
           std::string("\x80\x02" "ccopy_reg\n_reconstructor\n" "csubprocess\nPopen\n" "c__builtin__\nobject\nN\x87R."),
           std::string("\x80\x02" "cfunctools\npartial\n" "cbuiltins\neval\n\x85R."),
           std::string("\x80\x04" "\x8c\x08" "builtins\x8c\x15" "object.__subclasses__\x93."),
       }) {
    std::string error = error_of(hostile);
    CAPTURE(hostile);
    CHECK(error.starts_with("T0607"));
    CHECK(error.find("taxon refuses the whole file") != std::string::npos);
  }
}

TEST_CASE("malformed data classes are one clear error") {
  // a DictConfig whose _content is a list
  std::string dict_config = "\x80\x02" "comegaconf.dictconfig\nDictConfig\n)\x81}(" + bin_unicode("_metadata") +
                            "comegaconf.base\nContainerMetadata\n)\x81}b" + bin_unicode("_content") + "]ub.";
  CHECK(error_of(dict_config).find("omegaconf.dictconfig.DictConfig: its _content must be a dict") != std::string::npos);
  // a datetime.date from 3 bytes
  CHECK(error_of("\x80\x02" "cdatetime\ndate\nC\x03\x07\xe8\x01\x85R.").find("built from 4 bytes, not 3") != std::string::npos);
  // a Namespace whose state is a list
  CHECK(error_of("\x80\x02" "cargparse\nNamespace\n)\x81]b.").find("its state must be a dict of attributes") != std::string::npos);
}

TEST_CASE("a node pointing back at its parent becomes a weak reference - written back as a memo get") {
  // parent = Config(); parent.__setstate__({"child": Node() with state {"_parent": parent}})
  std::string bytes = "\x80\x02" "comegaconf.dictconfig\nDictConfig\n)\x81q\x00}("s + bin_unicode("_metadata") +
                      "comegaconf.base\nContainerMetadata\n)\x81}b" + bin_unicode("_content") + "}" + bin_unicode("a") +
                      "comegaconf.nodes\nAnyNode\n)\x81}" + bin_unicode("_parent") + "h\x00sbsub."s;
  PyRef config = read(bytes);
  const PyObject* object = as_object(config);
  REQUIRE(object);
  const PyDict* content = nullptr;
  for (const auto& [key, value] : as_dict(object->state)->items)
    if (*as_string(key) == "_content") content = as_dict(value);
  REQUIRE(content);
  const PyObject* node = as_object(content->items.at(0).second);
  REQUIRE(node);
  const auto* back = std::get_if<PyBackRef>(&as_dict(node->state)->items.at(0).second->value);
  REQUIRE(back);
  CHECK(back->target.lock() == config);  // the same object, not a copy, and not an owner

  auto path = std::filesystem::temp_directory_path() / "taxon_pickle_objects_test.pt";
  PyDict root;
  root.items.emplace_back(std::make_shared<PyValue>(std::string("state_dict"), 1), std::make_shared<PyValue>(PyDict{}, 1));
  root.items.emplace_back(std::make_shared<PyValue>(std::string("config"), 1), config);
  write_torch(path.string(), std::make_shared<PyValue>(std::move(root), 2));
  Checkpoint again = read_checkpoint(path.string());
  std::filesystem::remove(path);
  CHECK(again.tensors.empty());
  const PyObject* reread = as_object(as_dict(again.root)->items.at(1).second);
  REQUIRE(reread);
  CHECK(reread->type == "omegaconf.dictconfig.DictConfig");
}

TEST_CASE("opaque_entries names the outermost unknown objects - and the dict entry a .pt output leaves out") {
  // {"hp": {"idx": mypkg.Index(), "cfg": argparse.Namespace(x=mypkg.Inner())}, "cbs": [{}, mypkg.Cb()]}
  std::string bytes = "\x80\x02}(" + bin_unicode("hp") + "}(" + bin_unicode("idx") + "cmypkg\nIndex\n)\x81" +
                      bin_unicode("cfg") + "cargparse\nNamespace\n)\x81}" + bin_unicode("x") + "cmypkg\nInner\n)\x81sbu" +
                      bin_unicode("cbs") + "](}cmypkg\nCb\n)\x81" "eu.";
  PyRef root = read(bytes);
  auto found = opaque_entries(root);
  REQUIRE(found.size() == 3);
  CHECK(found[0].path == "hp.idx");
  CHECK(found[0].type == "mypkg.Index");
  CHECK(found[0].entry == std::vector<std::string>{"hp", "idx"});
  CHECK(found[1].path == "hp.cfg.x");  // inside a Namespace: the entry is the Namespace's
  CHECK(found[1].entry == std::vector<std::string>{"hp", "cfg"});
  CHECK(found[2].path == "cbs[1]");
  CHECK(found[2].entry == std::vector<std::string>{"cbs"});

  PyRef state_dict = std::make_shared<PyValue>(PyDict{}, 1);
  PyRef out = nested_root(root, {"weights"}, state_dict, {{"hp", "idx"}, {"cbs"}});
  const PyDict* top = as_dict(out);
  REQUIRE(top);
  REQUIRE(top->items.size() == 1);  // "cbs" left out; "weights" is not in the root, so nothing is put in
  CHECK(*as_string(top->items[0].first) == "hp");
  const PyDict* hp = as_dict(top->items[0].second);
  REQUIRE(hp->items.size() == 1);
  CHECK(*as_string(hp->items[0].first) == "cfg");
  CHECK(as_dict(as_dict(root)->items[0].second)->items.size() == 2);  // the input's dicts are untouched
}

TEST_CASE("getattr naming a nested class is read as the dotted global - any other lookup is refused") {
  // Protocols 0-3 spell mypkg.Outer.Inner as getattr(mypkg.Outer, "Inner").
  PyRef inner = read("\x80\x02" "c__builtin__\ngetattr\n(cmypkg\nOuter\n" + bin_unicode("Inner") + "tR.");
  const auto* global = std::get_if<PyGlobal>(&inner->value);
  REQUIRE(global);
  CHECK(global->path() == "mypkg.Outer.Inner");
  CHECK(global->opaque);

  for (const char* attribute : {"__globals__", "os", "a.b"}) {
    CAPTURE(attribute);
    CHECK(error_of("\x80\x02" "c__builtin__\ngetattr\n(cmypkg\nOuter\n" + bin_unicode(attribute) + "tR.").starts_with("T0607"));
  }

  // Written back, it is spelled the same way, since protocol 2's GLOBAL cannot hold a dotted name.
  auto path = std::filesystem::temp_directory_path() / "taxon_pickle_getattr_test.pt";
  PyDict root;
  root.items.emplace_back(std::make_shared<PyValue>(std::string("state_dict"), 1), std::make_shared<PyValue>(PyDict{}, 1));
  root.items.emplace_back(std::make_shared<PyValue>(std::string("kind"), 1), inner);
  write_torch(path.string(), std::make_shared<PyValue>(std::move(root), 2));
  Checkpoint again = read_checkpoint(path.string());
  std::filesystem::remove(path);
  const auto* reread = std::get_if<PyGlobal>(&as_dict(again.root)->items.at(1).second->value);
  REQUIRE(reread);
  CHECK(reread->path() == "mypkg.Outer.Inner");
}
