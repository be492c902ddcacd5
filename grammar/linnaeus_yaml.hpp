// The linnaeus YAML front end: `UnifiedParamFilter` filter trees and the
// parts of a linnaeus config that select parameters, lowered to the rule IR.
//
// Accepted documents:
//  - a filter tree at the root (a mapping with TYPE) -> the selection `filter`;
//  - a linnaeus config: OPTIMIZER.PARAMETER_GROUPS -> groups (overlap mode,
//    as linnaeus) and LOSS.GRAD_WEIGHTING.TASK.EXCLUDE_CONFIG (or the older
//    EXCLUDE_PATTERNS) -> the selection `gradnorm_exclude`.
// Either may carry a top-level `parameter_groups_metadata: {stages: ...}`.
#pragma once

#include <yaml-cpp/yaml.h>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/plans/plan.hpp"

namespace taxon {

// Lowers the whole document; an anemoi config goes to the anemoi front end. Errors go to `diagnostics`; a program returned
// alongside errors must not be evaluated. A `pretrained_ckpt_handling_metadata`
// mapping (top level, or under MODEL) becomes the plan `load_pretrained`.
Program lower_linnaeus_yaml(const SourceRef& source, Diagnostics& diagnostics,
                            std::vector<CheckpointPlan>* plans = nullptr);

namespace yaml {
class Reader;
// One filter tree (exposed for the anemoi and config front ends).
Predicate lower_linnaeus_filter(const YAML::Node& node, Reader& reader);
std::optional<CheckpointPlan> linnaeus_pretrained_plan(const YAML::Node& metadata, const SourceSpan& span, Reader& reader);
// anemoi-core configs (training.checkpoint, training.model_modifier, the legacy keys, `modifiers:`).
bool looks_like_anemoi(const YAML::Node& root);
void lower_anemoi(const YAML::Node& root, Reader& reader, Program& program, std::vector<CheckpointPlan>* plans);
}  // namespace yaml

}  // namespace taxon
