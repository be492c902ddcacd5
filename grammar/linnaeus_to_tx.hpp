// `taxon convert`: linnaeus YAML -> taxon language text that evaluates to the
// same selections, groups and overlaps, with linnaeus's implicit behaviour
// written out as explicit, commented rules.
#pragma once

#include <string>

#include "engine/diagnostic.hpp"
#include "engine/source.hpp"

namespace taxon::tx {

// The .tx text, canonically formatted; empty when the YAML has errors
// (they are in `diagnostics`).
std::string linnaeus_to_tx(const SourceRef& yaml, Diagnostics& diagnostics);

}  // namespace taxon::tx
