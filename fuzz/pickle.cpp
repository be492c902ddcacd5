// The unpickler: any bytes, with a persistent_load that hands out heap storages of 64 bytes (so
// AddressSanitizer sees any read past one). Every tensor built whose view check_view accepts is
// then read element by element; the value tree is walked to its leaves.
#include <variant>

#include "fuzz_support.hpp"
#include "runtime/input_error.hpp"
#include "runtime/pickle.hpp"

namespace {

using namespace taxon;

void walk(const PyRef& value, std::size_t depth) {
  if (!value) fuzz::fail("a null value in the unpickled tree");
  if (depth > 10'000) fuzz::fail("the unpickled tree is deeper than the unpickler's own limit allows");
  (void)describe_type(value);
  auto children = [&](const std::vector<PyRef>& items) {
    for (const auto& item : items) walk(item, depth + 1);
  };
  if (const auto* list = std::get_if<PyList>(&value->value)) children(list->items);
  else if (const auto* tuple = std::get_if<PyTuple>(&value->value)) children(tuple->items);
  else if (const auto* dict = std::get_if<PyDict>(&value->value)) {
    for (const auto& [key, item] : dict->items) {
      walk(key, depth + 1);
      walk(item, depth + 1);
    }
    if (dict->state) walk(dict->state, depth + 1);
  } else if (const auto* tensor = std::get_if<PyTensor>(&value->value)) {
    if (check_view(tensor->tensor).empty() && tensor->tensor.storage && tensor->tensor.nbytes() <= (1u << 16))
      (void)tensor->tensor.contiguous_bytes();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  UnpickleOptions options;
  options.context = "fuzz.pkl";
  options.persistent_load = [](const PyRef&) -> PyRef {
    auto bytes = std::make_shared<std::vector<uint8_t>>(64, 0x5a);
    auto storage = std::make_shared<StorageBlock>();
    storage->data = bytes->data();
    storage->nbytes = bytes->size();
    storage->owner = bytes;
    return std::make_shared<PyValue>(PyValue{PyStorage{storage}, 1});
  };
  try {
    std::size_t consumed = 0;
    PyRef root = unpickle(std::string_view(reinterpret_cast<const char*>(data), size), options, &consumed);
    if (consumed > size) fuzz::fail("the unpickler consumed more bytes than it was given");
    walk(root, 0);
  } catch (const InputError&) {
  }
  return 0;
}
