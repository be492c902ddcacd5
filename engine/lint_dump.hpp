// Checks of a program on one model dump that catch rules failing silently: what `taxon lint
// --dump` adds to evaluation's own findings. Internal to the engine and the lint command.
#pragma once

#include "engine/diagnostic.hpp"
#include "engine/evaluate.hpp"
#include "engine/ir.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

// T0710: an alternative of an `or` (or one pattern of a set, `name contains {"a", "b"}`) that
// matches no tensor while its siblings match some; when the pattern is a module class of the
// model, the hint says `type in {X}`.
// T0711: tensors of one role (the same owner class and tensor name, e.g. LayerNorm.weight)
// that end up with different weight decays.
// T0712: frozen parameters a group's filter names: left out of it, or kept in it (linnaeus).
Diagnostics lint_on_table(const Program& program, const EvalResult& result, const TensorTable& table,
                          const EvalOptions& options = {});

}  // namespace taxon
