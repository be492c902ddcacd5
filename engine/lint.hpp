// Static checks of a program, without any tensors: what `taxon lint` finds
// before a dump is given. Checks against dumps live with the lint command.
#pragma once

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/plans/plan.hpp"

namespace taxon {

// Always-true or always-false rules (after folding), suspicious regexes,
// redundant patterns in one rule, and literal patterns that an earlier group
// already covers.
Diagnostics lint_program(const Program& program);

// The same pattern checks for a checkpoint plan's drop and keep rules (the
// trailing-dot quirk of linnaeus's drop_params shows up here).
Diagnostics lint_plan(const CheckpointPlan& plan);

}  // namespace taxon
