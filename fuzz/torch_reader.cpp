// The whole torch.save reader on a .pt file: the zip format (zip index, data.pkl, data/<key>
// records) and the legacy stream (pickles, then raw storages).
#include "checkpoint_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return taxon::fuzz::read_as(data, size, ".pt");
}
