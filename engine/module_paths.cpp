#include "engine/module_paths.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"

namespace taxon {
namespace {

std::string_view parent_of(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view leaf_of(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string joined(std::string_view root, std::string_view path) {
  if (root.empty()) return std::string(path);
  if (path.empty()) return std::string(root);
  return fmt::format("{}.{}", root, path);
}

// The model's modules as the resolver needs them, built once per resolution.
class ModuleIndex {
 public:
  explicit ModuleIndex(const TensorTable& table) : table_(table) {
    // named_children() yields each module object once per parent, under its first name there:
    // a later sibling that is the same object is hidden, and so is all that lies under it.
    std::unordered_map<std::string_view, std::unordered_set<std::string_view>> yielded;  // parent -> objects
    for (const auto& [path, type] : table.modules) {
      std::string_view object = canonical(path);
      paths_.emplace(path, object);
      if (path.empty()) continue;
      std::string_view parent = parent_of(path);
      if (!yielded[parent].insert(object).second || hidden_.contains(parent)) hidden_.insert(path);
    }
  }

  bool has(std::string_view path) const { return paths_.contains(path); }
  // The module's first path: a shared module's other names resolve to it.
  std::string_view canonical(std::string_view path) const {
    auto alias = table_.module_alias_of.find(path);
    return alias == table_.module_alias_of.end() ? path : std::string_view(alias->second);
  }
  // Whether named_children() reaches `path` walking down from `root`.
  bool walked_to(std::string_view path, std::string_view root) const {
    for (std::string_view at = path; at.size() > root.size(); at = parent_of(at))
      if (hidden_.contains(at) && !hidden_.contains(parent_of(at))) return false;
    return true;
  }
  const TensorTable& table() const { return table_; }

 private:
  const TensorTable& table_;
  std::unordered_map<std::string_view, std::string_view> paths_;
  std::unordered_set<std::string_view> hidden_;
};

std::vector<std::string> paths_under(const TensorTable& table, std::string_view root) {
  std::vector<std::string> out;
  for (const auto& [path, type] : table.modules) {
    if (root.empty()) {
      if (!path.empty()) out.emplace_back(path);
    } else if (path.size() > root.size() && path.starts_with(root) && path[root.size()] == '.') {
      out.emplace_back(path.substr(root.size() + 1));
    }
  }
  return out;
}

// Why `path` (relative to `root`) names no module: the closest real path, and the mistakes seen in
// real configs (a parameter's name, a path from the wrong root, a bare name that is deeper down).
std::string unknown_hint(const ModuleUnder& node, const ModuleIndex& index, const std::string& path, const std::string& root) {
  const TensorTable& table = index.table();
  std::vector<std::string> relative = paths_under(table, root);
  std::string under_root = root.empty() ? std::string() : fmt::format(" under {}", root);
  if (node.semantics == PathSemantics::anemoi_any_depth) {
    if (path.find('.') != std::string::npos || path.empty())
      return fmt::format("before anemoi-training 0.15 a name is compared with each module's own name, at any depth; "
                         "'{}' can never match (write its last part, '{}', to freeze every module of that name)",
                         path, leaf_of(path));
    std::vector<std::string> leaves;
    for (const auto& p : relative) leaves.emplace_back(leaf_of(p));
    std::sort(leaves.begin(), leaves.end());
    leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
    return suggest(path, leaves, fmt::format("no module{} has this name", under_root));
  }
  if (path.empty())
    return fmt::format("anemoi's legacy freezing compares \"\" with each child's name, so it freezes nothing; list the "
                       "children to freeze them all");
  std::string full = joined(root, path);
  if (index.has(full))  // there, but named_children() does not reach it
    return fmt::format("'{}' is a second name of '{}', and named_children() yields a module once per parent, so "
                       "anemoi's legacy freezing does not find it; write '{}'",
                       full, index.canonical(full), index.canonical(full).substr(root.empty() ? 0 : root.size() + 1));
  if (!root.empty() && index.has(path) && path.starts_with(root + "."))
    return fmt::format("the paths are relative to {} (the inner network): write '{}'", root, path.substr(root.size() + 1));
  for (const auto& tensor : table.tensors)
    if (tensor.name == full && !tensor.tied_to)
      return fmt::format("'{}' is a {}; name its module, '{}'", path, tensor.kind == TensorKind::buffer ? "buffer" : "parameter",
                         parent_of(path));
  std::vector<std::string> deeper;
  for (const auto& module : relative)
    if (module.ends_with("." + path)) deeper.push_back(module);
  if (!deeper.empty() && path.find('.') == std::string::npos)
    return fmt::format("a bare name is a direct child only; the full paths are {}", fmt::join(deeper, ", "));
  std::string trimmed = path;
  while (!trimmed.empty() && trimmed.back() == '.') trimmed.pop_back();
  if (trimmed != path && index.has(joined(root, trimmed))) return fmt::format("drop the trailing dot: '{}'", trimmed);
  return suggest(path, relative, root.empty() ? "module paths are dotted, as named_modules() gives them: encoder, processor.0"
                                              : fmt::format("module paths are dotted and relative to {}: encoder, processor.0", root));
}

}  // namespace

bool module_is_under(std::string_view module, const std::vector<std::string>& modules) {
  return std::any_of(modules.begin(), modules.end(), [&](const std::string& path) {
    return path.empty() || module == path ||
           (module.size() > path.size() && module.starts_with(path) && module[path.size()] == '.');
  });
}

ResolvedModulePaths resolve_module_paths(const ModuleUnder& node, const TensorTable& table) {
  ResolvedModulePaths out;
  out.stopped_at = node.paths.size();
  if (table.modules.empty()) {  // a checkpoint: tensors' own module paths, as written
    for (const auto& path : node.paths) out.modules.push_back(path);
    return out;
  }
  ModuleIndex index(table);
  for (const auto& root : node.roots)
    if (index.has(root)) {
      out.root = root;
      break;
    }
  for (std::size_t i = 0; i < node.paths.size(); ++i) {
    const std::string& path = node.paths[i];
    std::size_t found_before = out.modules.size();
    switch (node.semantics) {
      case PathSemantics::dotted_path:
      case PathSemantics::anemoi_stage: {
        std::string full = joined(out.root, path);
        if (index.has(full)) out.modules.emplace_back(index.canonical(full));
        break;
      }
      case PathSemantics::anemoi_legacy: {
        std::string full = joined(out.root, path);
        if (!path.empty() && index.has(full) && index.walked_to(full, out.root)) out.modules.emplace_back(index.canonical(full));
        break;
      }
      case PathSemantics::anemoi_any_depth: {
        if (path.empty() || path.find('.') != std::string::npos) break;
        for (const auto& module : paths_under(table, out.root)) {
          std::string full = joined(out.root, module);
          if (leaf_of(module) == path && index.walked_to(full, out.root)) out.modules.emplace_back(index.canonical(full));
        }
        break;
      }
    }
    if (out.modules.size() == found_before) {
      out.unknown.push_back({i, unknown_hint(node, index, path, out.root)});
      if (node.stops_at_unknown) {
        out.stopped_at = i + 1;
        break;
      }
    }
  }
  return out;
}

}  // namespace taxon
