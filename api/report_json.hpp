// JSON of the values reports share: a diagnostic (docs/eval-json.md's
// "diagnostics" entries) and an option's value.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"

namespace taxon {

nlohmann::ordered_json to_json(const Diagnostic& diagnostic);
nlohmann::ordered_json to_json(const OptionValue& value);

}  // namespace taxon
