// Inputs as the command line meets them: a model file that may be a dump or a checkpoint, a dump
// or rules read from a pipe (include/taxon/taxon.hpp).
#include <cctype>
#include <fstream>

#include <fmt/format.h>

#include "api/internal.hpp"
#include "runtime/model_dump.hpp"
#include "runtime/rules_file.hpp"

namespace taxon {
namespace {

// The first byte that is not white space, or 0 for an empty or unreadable file. Unreadable files
// are left for the reader that follows to report.
char first_byte(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c))
    if (!std::isspace(static_cast<unsigned char>(c))) return c;
  return 0;
}

}  // namespace

Model Model::from_file(const std::string& path) {
  for (const char* rules : {".tx", ".yaml", ".yml"})
    if (path.ends_with(rules))
      throw Error(std::string(code::unsupported_input), fmt::format("{} is a rule file, not a model: give a model dump (tools/dump_model.py) or a "
                                       "checkpoint (.pt, .safetensors)", path));
  if (first_byte(path) == '{') return from_dump(path);
  if (path.ends_with(".json")) return from_dump(path);  // not an object: the dump reader says so, with the place
  return from_checkpoint(path);
}

Model Model::parse_dump(const std::string& json, const std::string& name) {
  return translating_errors([&] { return Model(std::make_shared<const Impl>(Impl{parse_model_dump(json, name), name, {}})); });
}

Rules Rules::parse(const std::string& text, RulesLanguage language, const std::string& name, const RuleParameters& parameters) {
  return translating_errors([&] {
    auto source = std::make_shared<SourceFile>();
    source->path = name;
    source->text = text;
    bool yaml = language == RulesLanguage::yaml;
    return Rules(std::make_shared<const Impl>(Impl{lower_rule_source(std::move(source), yaml, parameters), name}));
  });
}

}  // namespace taxon
