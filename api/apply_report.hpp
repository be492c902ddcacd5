// The report of `taxon apply`, as text for people or as JSON. Built whole
// before anything is printed, so stdout never holds a report the run then
// contradicts.
#pragma once

#include <string>
#include <vector>

#include "engine/plans/plan.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

struct ApplyReport {
  std::string plan;
  std::vector<std::string> inputs;
  std::string target;  // "" without --target
  std::string output;  // "" on a dry run, or when nothing is written
  const TensorTable* input = nullptr;
  const PlanResult* result = nullptr;
  struct LeftOut {
    std::string entry;   // dotted keys from the root: "optimizer", "hyper_parameters.data_indices"
    std::string reason;  // "refers to parameters by position", "holds a pkg.Thing, ..."
  };
  std::vector<LeftOut> left_out;  // entries of a .pt that the output does not keep
  bool list_all = false;
};

std::string apply_report_text(const ApplyReport& report);
std::string apply_report_json(const ApplyReport& report);

}  // namespace taxon
