// Which modules the paths of a `module under` test name, on one model: the
// path semantics of the DSL and of anemoi's freezing in its generations.
#pragma once

#include <string>
#include <vector>

#include "engine/ir.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

struct ResolvedModulePaths {
  std::string root;  // the module the paths are relative to ("" = the model)
  // The modules named, each under its first path (a shared module's second name resolved), so
  // that a tensor lies under one of them when its `module` does.
  std::vector<std::string> modules;
  // Positions in ModuleUnder::paths of the paths that name no module, with why not.
  struct Unknown {
    std::size_t index;
    std::string hint;
  };
  std::vector<Unknown> unknown;
  // The paths from this position on were not taken (ModuleUnder::stops_at_unknown).
  std::size_t stopped_at;
};

// Resolves against table.modules (and table.module_alias_of). A table without modules (a
// checkpoint) names each path as written: tensors' module paths are all there is.
ResolvedModulePaths resolve_module_paths(const ModuleUnder& node, const TensorTable& table);

// Whether a tensor owned by `module` lies under one of `modules` ("" is everything).
bool module_is_under(std::string_view module, const std::vector<std::string>& modules);

}  // namespace taxon
