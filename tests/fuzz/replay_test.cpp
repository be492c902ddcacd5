// Replays every fuzz target's harness (fuzz/*.cpp, built here without libFuzzer) over the inputs
// that once crashed it (tests/data/fuzz/TARGET/) and over its seeds (fuzz/seeds/TARGET/). A
// harness aborts on a broken invariant; under the `asan` preset the sanitizers watch every read.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

// Each harness's LLVMFuzzerTestOneInput, renamed at compile time (tests/CMakeLists.txt).
extern "C" {
int taxon_fuzz_tx_parser(const uint8_t* data, std::size_t size);
int taxon_fuzz_yaml_rules(const uint8_t* data, std::size_t size);
int taxon_fuzz_safetensors_reader(const uint8_t* data, std::size_t size);
int taxon_fuzz_torch_reader(const uint8_t* data, std::size_t size);
int taxon_fuzz_zip_archive(const uint8_t* data, std::size_t size);
int taxon_fuzz_pickle(const uint8_t* data, std::size_t size);
}

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const uint8_t*, std::size_t);

// Runs `harness` on every file under the target's regression and seed folders; returns how many.
std::size_t replay(const std::string& target, Harness harness) {
  std::size_t count = 0;
  for (const fs::path& folder : {fs::path(TAXON_SOURCE_DIR) / "tests/data/fuzz" / target, fs::path(TAXON_SOURCE_DIR) / "fuzz/seeds" / target}) {
    if (!fs::is_directory(folder)) continue;
    for (const auto& entry : fs::directory_iterator(folder)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      INFO(entry.path().string());
      CHECK(harness(bytes.data(), bytes.size()) == 0);
      ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE("fuzz regressions: the taxon language") { CHECK(replay("tx_parser", taxon_fuzz_tx_parser) >= 1); }
TEST_CASE("fuzz regressions: the YAML front ends") { CHECK(replay("yaml_rules", taxon_fuzz_yaml_rules) >= 1); }
TEST_CASE("fuzz regressions: safetensors") { CHECK(replay("safetensors_reader", taxon_fuzz_safetensors_reader) >= 3); }
TEST_CASE("fuzz regressions: torch.save files") { CHECK(replay("torch_reader", taxon_fuzz_torch_reader) >= 16); }
TEST_CASE("fuzz regressions: the zip reader") { CHECK(replay("zip_archive", taxon_fuzz_zip_archive) >= 9); }
TEST_CASE("fuzz regressions: the unpickler") { CHECK(replay("pickle", taxon_fuzz_pickle) >= 8); }
