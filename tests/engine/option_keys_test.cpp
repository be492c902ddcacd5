// Every key a torch.optim optimizer keeps in a param group is a known option: the list
// torch_optim_keys.json holds was written by PyTorch itself (its generator, beside it).
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <re2/re2.h>

#include "engine/option_keys.hpp"

TEST_CASE("every param-group key of torch.optim's optimizers is a known option") {
  std::ifstream file(TAXON_SOURCE_DIR "/tests/data/options/torch_optim_keys.json");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  std::string json = text.str();
  // After "optimizers" come the optimizers' names (capitalised) and their keys (lower case).
  std::string lists = json.substr(json.find("\"optimizers\""));
  std::set<std::string> keys;
  static const RE2 quoted("\"([a-z_0-9]+)\"");
  re2::StringPiece rest(lists);
  std::string key;
  while (RE2::FindAndConsume(&rest, quoted, &key))
    if (key != "optimizers") keys.insert(key);
  CHECK(keys.size() >= 25);
  for (const auto& key : keys) {
    CAPTURE(key);
    CHECK(taxon::known_option_key(key));
  }
  CHECK_FALSE(taxon::known_option_key("wieght_decay"));
}
