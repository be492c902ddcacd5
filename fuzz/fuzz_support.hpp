// What every fuzz target shares: the input as a file (the checkpoint readers map files), the
// invariants a checkpoint the readers accept must hold, and evaluation both ways (the optimizer
// and the compiled evaluator against the rules as written), which must agree.
//
// A failed invariant aborts: libFuzzer saves the input as a crash. An exception other than
// taxon::InputError escaping a reader is a crash too (the CLI would print it as an internal error).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/evaluate.hpp"
#include "engine/lint.hpp"
#include "runtime/checkpoint.hpp"

namespace taxon::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "taxon fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

// Writes the input to one scratch file per process (in /dev/shm when there is one) and returns
// its path, ending in `suffix` so that read_checkpoint picks the reader.
std::string write_input(const uint8_t* data, std::size_t size, std::string_view suffix);

// What a reader may only return when it holds: every tensor's view inside its storage, every
// storage inside the mapped file it came from, and the table built from it.
void check_checkpoint(const Checkpoint& checkpoint);

// A small model to evaluate rules on: names, shapes, dtypes, module types, a tie.
const TensorTable& sample_table();

// Lints and evaluates `program` (no errors in it) with and without the optimizer; the two must agree.
void evaluate_both_ways(const Program& program);

}  // namespace taxon::fuzz
