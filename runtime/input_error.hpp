// The exception for "taxon cannot do this job": a file it cannot read, a corrupt or unsupported
// checkpoint, an output it cannot write, the tensor actions library it cannot load, a step that
// cannot work on the tensors it meets. Its message names the file (or the tensor), where, what is
// wrong and what to do; the CLI prints it with its code and exits 2. One of three ways to fail
// (docs/diagnostics.md#three-ways-to-fail): mistakes in the rules are Diagnostics, and a bug in
// taxon is an InternalError (engine/internal_error.hpp).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/diagnostic_codes.hpp"
#include "engine/internal_error.hpp"

namespace taxon {

class InputError : public std::runtime_error {
 public:
  // `code`: a registered code, code::unreadable_file and its kin; any other is a bug in taxon (InternalError).
  InputError(std::string_view code, const std::string& message) : std::runtime_error(message), code_(registered(code)) {}
  std::string_view code() const { return code_; }

 private:
  static std::string_view registered(std::string_view code) {
    const DiagnosticCode* known = find_code(code);
    if (!known) throw InternalError("an error with the unregistered code '" + std::string(code) + "'");
    return known->id;
  }
  std::string_view code_;  // the registry's own string: lives as long as the program
};

}  // namespace taxon
