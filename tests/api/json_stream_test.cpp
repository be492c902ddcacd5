// api/json_stream.hpp (internal): what it streams is what nlohmann::json's dump(indent) writes for
// the same document, byte for byte - the reports rely on it to keep their JSON unchanged.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "api/json_stream.hpp"

namespace {

using ordered_json = nlohmann::ordered_json;

// Streams `document` through JsonStream: containers opened and closed, strings as strings, other
// scalars (and, where `trees` says so, whole arrays of objects) as small trees.
void stream(taxon::JsonStream& out, const ordered_json& document) {
  if (document.is_object()) {
    out.begin_object();
    for (const auto& [key, value] : document.items()) {
      out.key(key);
      stream(out, value);
    }
    out.end_object();
  } else if (document.is_array()) {
    out.begin_array();
    for (const auto& value : document) {
      if (value.is_object() && value.contains("small")) out.value(value);  // an entry given as a tree
      else stream(out, value);
    }
    out.end_array();
  } else if (document.is_string()) {
    out.string(document.get<std::string>());
  } else {
    out.value(document);
  }
}

}  // namespace

TEST_CASE("JsonStream lays out documents as nlohmann's dump(1) and dump(2) do") {
  const ordered_json documents[] = {
      ordered_json::object(),
      ordered_json::array(),
      ordered_json{{"a", ordered_json::object()}, {"b", ordered_json::array()}, {"c", nullptr}},
      ordered_json{{"names", {"x", "tab\there", "quote\"back\\slash", "caf\xc3\xa9", std::string("nul\0byte", 8)}},
           {"numbers", {1, -2, 0.05, 1e-05, 1e+20, 3.0, 0.1 + 0.2}},
           {"flags", {true, false}},
           {"nested", {{"deep", {{"deeper", ordered_json::array({ordered_json::object(), ordered_json::array({1})})}}}}},
           {"entries",
            ordered_json::array({ordered_json{{"small", 1}, {"shape", {2, 3}}}, ordered_json{{"small", ordered_json::object()}}})}},
      // Array elements written in one piece where nothing needs an escape: at every depth, of
      // every length around the 16 bytes scanned at a time, and beside those that do.
      ordered_json{{"deep", {{{"model.layers.0.mlp.experts.17.down_proj.weight", "sixteen bytes ok", "del\x7f", "", "x"}}}}},
      ordered_json("a string alone"),
  };
  for (int indent : {1, 2}) {
    for (const auto& document : documents) {
      CAPTURE(indent);
      CAPTURE(document.dump());
      std::string text;
      taxon::JsonStream out(text, indent);
      stream(out, document);
      CHECK(text == document.dump(indent));
    }
  }
}

TEST_CASE("JsonStream refuses a string that is not UTF-8 - as a tree's dump() does") {
  std::string text;
  taxon::JsonStream out(text);
  out.begin_array();
  CHECK_THROWS_AS(out.string("\xff\xfe"), nlohmann::json::type_error);
}

TEST_CASE("JsonStream handed out in pieces writes what it writes whole") {
  ordered_json names = ordered_json::array();
  for (int i = 0; i < 5000; ++i) names.push_back("model.layers." + std::to_string(i) + (i % 7 ? ".weight" : ".w\"eight"));
  ordered_json document{{"tensors", names}, {"after", {"a", "b"}}};
  std::string buffer, written;
  taxon::JsonStream out(buffer, [&](std::string_view piece) { written += piece; });
  stream(out, document);
  out.flush();
  CHECK(written.size() > (std::size_t{64} << 10));  // more than one piece
  CHECK(written == document.dump(2));
}
