// The unpickler: any bytes, with a persistent_load that hands out heap storages of 64 bytes (so
// AddressSanitizer sees any read past one). Every tensor built whose view check_view accepts is
// then read element by element; the value tree is walked to its leaves (objects' arguments, items
// and state included), its height, measured here apart from the unpickler's own check, must be
// within kMaxPickleDepth, every back reference's target must be alive, and opaque_entries must
// walk it too.
#include <algorithm>
#include <cstring>
#include <random>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/input_error.hpp"
#include "runtime/pickle.hpp"

namespace {

using namespace taxon;

std::vector<const PyRef*> children(const PyRef& value) {
  std::vector<const PyRef*> out;
  for (std::size_t i = 0, n = child_count(*value); i < n; ++i)
    if (const PyRef& below = child(*value, i)) out.push_back(&below);
  return out;
}

void visit(const PyRef& value) {
  (void)describe_type(value);
  // A reference back up the tree points at a value the root still holds (an ancestor).
  if (const auto* back = std::get_if<PyBackRef>(&value->value); back && !back->target.lock())
    fuzz::fail("a back reference whose target is gone");
  if (const auto* tensor = std::get_if<PyTensor>(&value->value)) {
    if (check_view(tensor->tensor).empty() && tensor->tensor.storage && tensor->tensor.nbytes() <= (1u << 16))
      (void)tensor->tensor.contiguous_bytes();
  }
}

// Each value once, however many hold it (a pickle can share a subtree at every level, which a
// walk of every path would take exponential time over), and without recursion: the harness must
// not overflow the stack where the unpickler does not.
void walk(const PyRef& root) {
  struct Open {
    const PyRef* value;
    std::vector<const PyRef*> children;
    std::size_t next = 0, height = 1;
  };
  std::unordered_map<const PyValue*, std::size_t> heights;  // 0 while the value is on the path
  std::vector<Open> path;
  auto open = [&](const PyRef& value) {
    if (!value) fuzz::fail("a null value in the unpickled tree");
    heights.emplace(value.get(), 0);
    visit(value);
    path.push_back({&value, children(value)});
    if (path.size() > kMaxPickleDepth) fuzz::fail("the unpickled tree is deeper than the unpickler's limit allows");
  };
  open(root);
  while (!path.empty()) {
    Open& top = path.back();
    if (top.next == top.children.size()) {
      std::size_t height = heights[top.value->get()] = top.height;
      if (height > kMaxPickleDepth) fuzz::fail("the unpickled tree is deeper than the unpickler's limit allows");
      path.pop_back();
      if (!path.empty()) path.back().height = std::max(path.back().height, height + 1);
      continue;
    }
    const PyRef& child = *top.children[top.next++];
    if (!child) fuzz::fail("a null value in the unpickled tree");
    if (auto seen = heights.find(child.get()); seen != heights.end()) {
      if (seen->second == 0) fuzz::fail("the unpickled tree holds itself");
      top.height = std::max(top.height, seen->second + 1);
      continue;
    }
    open(child);
  }
}

}  // namespace

// libFuzzer's own mutations; absent where the harness is linked without libFuzzer (the regression
// replay), which never calls the mutator below.
extern "C" std::size_t LLVMFuzzerMutate(uint8_t* data, std::size_t size, std::size_t max_size) __attribute__((weak));

// Nesting past the depth limit through the memo takes hundreds of repeats of one short sequence:
// byte mutations, and the dictionary (fuzz/pickle.dict) one entry at a time, almost never get
// there, and coverage rewards no step on the way. One mutation in eight repeats a level here, up to
// 300 times, at a random place; the seed memo_nesting.pkl ends with containers in memo slot 0.
extern "C" std::size_t LLVMFuzzerCustomMutator(uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed) {
  using namespace std::string_view_literals;  // sv: the levels hold NUL bytes
  static constexpr std::string_view kLevels[] = {
      "h\x00]q\x00" "a0"sv,  "h\x00N}q\x00s0"sv,  "h\x00}q\x00" "b0"sv,  "h\x00(]q\x00" "e0"sv,
      "h\x00(N}q\x00u0"sv, "h\x00(]q\x00" "2e0"sv, "h\x00]\x94" "a0"sv};
  std::minstd_rand random(seed);
  if (random() % 8 != 0) return LLVMFuzzerMutate(data, size, max_size);
  std::string_view level = kLevels[random() % std::size(kLevels)];
  std::size_t repeats = std::min<std::size_t>(1 + random() % 300, (max_size - size) / level.size());
  if (repeats == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::size_t at = random() % (size + 1), added = repeats * level.size();
  std::memmove(data + at + added, data + at, size - at);
  for (std::size_t i = 0; i < repeats; ++i) std::memcpy(data + at + i * level.size(), level.data(), level.size());
  return size + added;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  UnpickleOptions options;
  options.context = "fuzz.pkl";
  options.persistent_load = [](const PyRef&) -> PyRef {
    auto bytes = std::make_shared<std::vector<uint8_t>>(64, 0x5a);
    auto storage = std::make_shared<StorageBlock>();
    storage->data = bytes->data();
    storage->nbytes = bytes->size();
    storage->owner = bytes;
    return std::make_shared<PyValue>(PyStorage{storage}, 1);
  };
  try {
    std::size_t consumed = 0;
    PyRef root = unpickle(std::string_view(reinterpret_cast<const char*>(data), size), options, &consumed);
    if (consumed > size) fuzz::fail("the unpickler consumed more bytes than it was given");
    walk(root);
    (void)opaque_entries(root);
  } catch (const InputError&) {
  }
  return 0;
}
