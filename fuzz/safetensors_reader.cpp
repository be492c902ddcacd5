// The safetensors reader: header length, JSON header, offsets against the data.
#include "checkpoint_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return taxon::fuzz::read_as(data, size, ".safetensors");
}
