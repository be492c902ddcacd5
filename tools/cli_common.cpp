#include "tools/cli_common.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"
#include "runtime/model_dump.hpp"

namespace taxon::cli {

void print_diagnostics(const std::vector<Diagnostic>& diagnostics, std::size_t max_errors) {
  if (diagnostics.empty()) return;
  std::cerr << render_text(diagnostics, max_errors);
}

std::optional<ReferenceShapes> load_reference(const std::string& path) {
  if (path.empty()) return std::nullopt;
  return read_reference(path);
}

}  // namespace taxon::cli
