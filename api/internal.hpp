// What the public classes of include/taxon/taxon.hpp hold, and the helpers
// the API's files share. Not installed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/diagnostic.hpp"
#include "engine/evaluate.hpp"
#include "engine/tensor_table.hpp"
#include "runtime/input_error.hpp"
#include "runtime/rules_file.hpp"
#include "taxon/taxon.hpp"

namespace taxon {

// What `taxon dump` says of a checkpoint besides its tensors, kept from the read so that a Model
// needs neither the file nor its unpickled values to say it.
struct CheckpointFacts {
  struct Object {
    std::string path, type;
    std::size_t tensors = 0;
  };
  std::string format;                             // "safetensors", "torch zip", ...
  std::vector<std::string> state_dict_path;       // empty: the root
  std::vector<std::string> other_tensor_entries;  // what --source could pick instead
  std::vector<Object> objects;                    // values of classes taxon does not know
  std::optional<std::string> wrapper_prefix;      // "module.", on every key
};

struct Model::Impl {
  TensorTable table;
  std::string path;  // the file it was read from; "" when built in code
  std::optional<CheckpointFacts> checkpoint;
};

struct Rules::Impl {
  RuleFile file;
  std::string path;
};

struct Report::Impl {
  EvalResult result;
  std::shared_ptr<const Model::Impl> model;  // shared, not copied: a report of a 100k-tensor model stays cheap
  std::string rules_path, model_name;
  const TensorTable& table() const { return model->table; }
};

// A model's name in reports: the file it was read from, else the dump's "model".
inline std::string model_name(const Model& model) {
  return model.impl().path.empty() ? model.impl().table.model : model.impl().path;
}

Finding to_finding(const Diagnostic& diagnostic);
std::vector<Finding> to_findings(const std::vector<Diagnostic>& diagnostics);
Setting to_setting(const std::string& name, const OptionValue& value);
ModelTensor to_model_tensor(const TensorTable& table, std::size_t row);

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
