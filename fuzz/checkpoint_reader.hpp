// One fuzz target per checkpoint format: the input becomes a file with the format's suffix and goes
// through read_checkpoint, the path every command takes. A reader either accepts it, and then the
// checkpoint must hold (fuzz::check_checkpoint), or refuses it with an InputError.
#pragma once

#include "fuzz_support.hpp"
#include "runtime/input_error.hpp"

namespace taxon::fuzz {

inline int read_as(const uint8_t* data, std::size_t size, std::string_view suffix) {
  std::string path = write_input(data, size, suffix);
  try {
    check_checkpoint(read_checkpoint(path));
  } catch (const InputError&) {
  }
  return 0;
}

}  // namespace taxon::fuzz
