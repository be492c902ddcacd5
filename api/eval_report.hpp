// Renders an evaluation: text for people, JSON as the contract of docs/eval-json.md.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "api/json_stream.hpp"
#include "engine/evaluate.hpp"

namespace taxon {

struct TextReportOptions {
  bool list_all = false;             // --all: never fold name lists
  std::size_t folded_after = 10;     // names shown per list otherwise
};

std::string render_eval_text(const EvalResult& result, const TensorTable& table, const std::string& rules_path,
                             const std::string& dump_path, const TextReportOptions& options);

// docs/eval-json.md, as nlohmann::json's dump(2) would lay it out, streamed (no tree): whole, or
// handed to `write` in pieces of about 64 KiB.
std::string render_eval_json(const EvalResult& result, const TensorTable& table);
void write_eval_json(const EvalResult& result, const TensorTable& table, const JsonStream::Write& write);

// `taxon eval --explain-plan`: each rule as the optimizer rewrote it, then the compiled structures.
std::string render_evaluation_plan(const EvaluationPlan& plan, const std::string& rules_path, const std::string& dump_path);

}  // namespace taxon
