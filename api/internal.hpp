// What the public classes of include/taxon/taxon.hpp hold, and the helpers
// the API's files share. Not installed.
#pragma once

#include <string>
#include <vector>

#include "engine/diagnostic.hpp"
#include "engine/evaluate.hpp"
#include "engine/tensor_table.hpp"
#include "runtime/input_error.hpp"
#include "runtime/rules_file.hpp"
#include "taxon/taxon.hpp"

namespace taxon {

struct Model::Impl {
  TensorTable table;
  std::string path;  // the file it was read from; "" when built in code
};

struct Rules::Impl {
  RuleFile file;
  std::string path;
};

struct Report::Impl {
  EvalResult result;
  TensorTable table;
  std::string rules_path, model_name;
};

// A model's name in reports: the file it was read from, else the dump's "model".
inline std::string model_name(const Model& model) {
  return model.impl().path.empty() ? model.impl().table.model : model.impl().path;
}

Finding to_finding(const Diagnostic& diagnostic);
std::vector<Finding> to_findings(const std::vector<Diagnostic>& diagnostics);

// Runs `body`, turning the library's internal "could not run" into the public taxon::Error.
template <typename Body>
auto translating_errors(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const InputError& error) {
    throw Error(std::string(error.code()), error.what());
  }
}

}  // namespace taxon
