#include "runtime/actions.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/diagnostic.hpp"
#include "runtime/input_error.hpp"
#include "runtime/option_json.hpp"
#include "runtime/taxon_actions.h"

namespace taxon {
namespace {

struct Library {
  decltype(&taxon_action_run) run = nullptr;
  decltype(&taxon_action_free) release = nullptr;
};

std::string library_path() {
  if (const char* path = std::getenv("TAXON_ACTIONS_LIBRARY"); path && *path) return path;
  // Installed: <prefix>/lib/libtaxon_actions.so next to <prefix>/bin/taxon; built: the build tree.
  std::error_code ignored;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ignored);
  if (!ignored) {
    for (auto candidate : {self.parent_path() / "../lib/libtaxon_actions.so", self.parent_path() / "../stdlib/libtaxon_actions.so"})
      if (std::filesystem::exists(candidate, ignored)) return candidate.lexically_normal().string();
  }
  if (std::filesystem::exists(TAXON_INSTALLED_ACTIONS_LIBRARY, ignored)) return TAXON_INSTALLED_ACTIONS_LIBRARY;  // a trainer's process
  return TAXON_ACTIONS_LIBRARY;
}

const Library& library() {
  static Library loaded;
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    std::string path = library_path();
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      failure = fmt::format("cannot load the tensor actions ({}): {}", path, ::dlerror());
      return;
    }
    auto abi = reinterpret_cast<decltype(&taxon_actions_abi)>(::dlsym(handle, "taxon_actions_abi"));
    loaded.run = reinterpret_cast<decltype(&taxon_action_run)>(::dlsym(handle, "taxon_action_run"));
    loaded.release = reinterpret_cast<decltype(&taxon_action_free)>(::dlsym(handle, "taxon_action_free"));
    if (!abi || !loaded.run || !loaded.release || abi() != TAXON_ACTIONS_ABI) {
      failure = fmt::format("{} is not a matching taxon actions library", path);
      loaded = {};
    }
  });
  if (!loaded.run)
    throw InputError(code::actions_library, failure + "; set TAXON_ACTIONS_LIBRARY to libtaxon_actions.so");
  return loaded;
}

}  // namespace

void require_actions_library() { (void)library(); }

TensorData run_action(const std::string& action, const std::vector<GroupOption>& options, const TensorData& input,
                      const std::vector<int64_t>& target_shape) {
  const Library& actions = library();
  nlohmann::json json_options = nlohmann::json::object();
  for (const auto& option : options) json_options[option.key] = option_to_json<nlohmann::json>(option.value);
  std::vector<uint8_t> bytes = input.contiguous_bytes();
  std::string dtype(dtype_name(input.dtype));
  taxon_tensor_in in{dtype.c_str(), static_cast<int64_t>(input.shape.size()), input.shape.data(), bytes.data()};
  taxon_tensor_out out{};
  char error[512] = {0};
  std::string text = json_options.dump();
  if (actions.run(action.c_str(), text.c_str(), &in, target_shape.data(), static_cast<int64_t>(target_shape.size()), &out,
                  error, sizeof error) != 0)
    throw InputError(code::action_failed, fmt::format("action {} failed: {}", action, error));
  auto owned = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(out.data),
                                                      static_cast<const uint8_t*>(out.data) + out.nbytes);
  actions.release(out.data);
  TensorData result;
  result.dtype = *dtype_from_name(out.dtype);
  result.shape = target_shape;
  result.stride = contiguous_strides(target_shape);
  result.requires_grad = input.requires_grad;
  result.storage = std::make_shared<StorageBlock>();
  result.storage->key = action;
  result.storage->dtype = result.dtype;
  result.storage->data = owned->data();
  result.storage->nbytes = owned->size();
  result.storage->owner = owned;
  return result;
}

}  // namespace taxon
