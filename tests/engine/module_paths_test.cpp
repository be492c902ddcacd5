// Which modules `module under` paths name, in each path semantics: what each resolves to on one
// model with a module shared under two names (`alias` is `enc`, registered under one parent) and
// another reached from a second parent (`dec.shared` is `enc.inner`).
#include <doctest/doctest.h>

#include "engine/module_paths.hpp"

using namespace taxon;

namespace {

TensorTable model() {
  TensorTable table;
  for (const char* path : {"", "model", "model.model", "model.model.enc", "model.model.enc.inner", "model.model.alias",
                           "model.model.alias.inner", "model.model.dec", "model.model.dec.shared", "model.model.dec.data"})
    table.modules.emplace_back(path, "Module");
  table.module_alias_of = {{"model.model.alias", "model.model.enc"},
                           {"model.model.alias.inner", "model.model.enc.inner"},
                           {"model.model.dec.shared", "model.model.enc.inner"}};
  return table;
}

ResolvedModulePaths resolve(std::vector<std::string> paths, PathSemantics semantics, std::vector<std::string> roots = {},
                            bool strict = false) {
  ModuleUnder node{std::move(paths), strict, semantics, std::move(roots), strict};
  return resolve_module_paths(node, model());
}

using Paths = std::vector<std::string>;

std::vector<std::size_t> unknown(const ResolvedModulePaths& resolved) {
  std::vector<std::size_t> out;
  for (const auto& u : resolved.unknown) out.push_back(u.index);
  return out;
}

}  // namespace

TEST_CASE("get_submodule semantics: any name of a shared module reaches its first path and \"\" is the root") {
  auto resolved = resolve({"model.model.alias", "model.model.dec.shared", "", "model.model.enc.", "nope"}, PathSemantics::anemoi_stage);
  CHECK(resolved.modules == Paths{"model.model.enc", "model.model.enc.inner", ""});
  CHECK(unknown(resolved) == std::vector<std::size_t>{3, 4});
  CHECK(resolved.unknown[0].hint == "drop the trailing dot: 'model.model.enc'");
}

TEST_CASE("named_children semantics under the inner network: a second name under one parent is not walked to") {
  auto resolved = resolve({"enc", "alias", "alias.inner", "dec.shared", ""}, PathSemantics::anemoi_legacy, {"model.model", ""});
  CHECK(resolved.root == "model.model");
  // dec.shared is the first name of that module under `dec`: named_children() yields it there.
  CHECK(resolved.modules == Paths{"model.model.enc", "model.model.enc.inner"});
  CHECK(unknown(resolved) == std::vector<std::size_t>{1, 2, 4});
  CHECK(resolved.unknown[0].hint.find("second name of 'model.model.enc'") != std::string::npos);
}

TEST_CASE("the first root the model has is the root - with none it is the model itself") {
  CHECK(resolve({"model.model.enc"}, PathSemantics::anemoi_legacy, {"network"}).modules == Paths{"model.model.enc"});
  auto resolved = resolve({"model.model.enc"}, PathSemantics::anemoi_legacy, {"model.model"});
  CHECK(resolved.modules.empty());
  CHECK(resolved.unknown[0].hint == "the paths are relative to model.model (the inner network): write 'enc'");
}

TEST_CASE("any-depth semantics (anemoi before 0.15): every module of that name and never a dotted path") {
  auto resolved = resolve({"inner", "shared", "dec.data"}, PathSemantics::anemoi_any_depth);
  // `inner` once (alias.inner hides behind alias), and `shared`: dec.shared is that module's first name under dec.
  CHECK(resolved.modules == Paths{"model.model.enc.inner", "model.model.enc.inner"});
  CHECK(unknown(resolved) == std::vector<std::size_t>{2});
}

TEST_CASE("strict paths stop at the first that names no module") {
  auto resolved = resolve({"model.model.enc", "typo", "model.model.dec"}, PathSemantics::anemoi_stage, {}, true);
  CHECK(resolved.modules == Paths{"model.model.enc"});
  CHECK(resolved.stopped_at == 2);
}

TEST_CASE("a table without modules (a checkpoint) takes the paths as written") {
  TensorTable table;
  ModuleUnder node{{"enc", "dec"}};
  CHECK(resolve_module_paths(node, table).modules == Paths{"enc", "dec"});
  CHECK(module_is_under("enc.inner", {"enc"}));
  CHECK_FALSE(module_is_under("enc_2", {"enc"}));
  CHECK(module_is_under("anything", {""}));
}
