// The dump reader's JSON cursor: what it accepts is exactly JSON (checked against nlohmann's
// parser on thousands of mutated documents), where it says a text stops being JSON, and what
// it reads out of strings and numbers.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/json_cursor.hpp"
#include "runtime/json_string.hpp"

using namespace taxon;

namespace {

// The byte offset and message of the syntax error, or -1 when the text is JSON.
std::pair<long, std::string> error_in(std::string_view text) {
  try {
    JsonCursor::validate(text);
    return {-1, ""};
  } catch (const JsonSyntaxError& error) {
    return {static_cast<long>(error.offset()), error.what()};
  }
}

const std::string kDocument = R"({"format": "model-dump/1", "model": "m\u00e9 \"q\" \ud83d\ude00",
 "modules": [{"name": "", "type": "M", "mro": ["a.M"]}, {"name": "enc", "type": "Linear", "alias_of": null}],
 "tensors": [
  {"name": "enc.weight", "shape": [4, 8], "dtype": "float32", "kind": "parameter", "requires_grad": true},
  {"name": "enc.bias", "shape": [], "dtype": "float32", "persistent": false, "extra": {"x": [1.5e-3, -0, 0.25, 1E+2]}}
 ]})";

}  // namespace

TEST_CASE("what the cursor accepts is what nlohmann accepts - on thousands of mutated documents") {
  std::mt19937 random(20261130);
  const std::string bytes = std::string("\"\\,:{}[]0-.eE+ unt\x01\xc3\xa9\xff\x80") + '\0';
  std::size_t disagreements = 0, rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = kDocument;
    int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      std::size_t at = random() % text.size();
      char byte = bytes[random() % bytes.size()];
      switch (random() % 4) {
        case 0: text[at] = byte; break;
        case 1: text.erase(at, 1); break;
        case 2: text.insert(at, 1, byte); break;
        default: text.resize(at); break;
      }
    }
    bool ours = error_in(text).first < 0;
    bool theirs = nlohmann::json::accept(text);
    rejected += !theirs;
    if (ours != theirs && ++disagreements <= 5) {
      CAPTURE(text);
      CHECK(ours == theirs);
    }
  }
  CHECK(disagreements == 0);
  CHECK(rejected > 10000);  // the mutations do break most documents: the comparison means something
  CHECK(error_in(kDocument).first == -1);
}

TEST_CASE("a syntax error is placed where the text stops being JSON - and says what was expected") {
  CHECK(error_in(R"({"a": [1, 2,]})") == std::pair<long, std::string>{12, "expected a value, found ']'"});
  CHECK(error_in(R"({"a" 1})") == std::pair<long, std::string>{5, "expected ':', found '1'"});
  CHECK(error_in(R"({"a": 1 "b": 2})") == std::pair<long, std::string>{8, "expected ',' or '}', found '\"'"});
  CHECK(error_in(R"({"a": "x)") == std::pair<long, std::string>{6, "a string that is never closed"});
  CHECK(error_in("{\"a\": \"x\ty\"}") ==
        std::pair<long, std::string>{8, "a control character (byte 0x09) in a string; write it as \\u0009"});
  CHECK(error_in(R"(["\q"])") == std::pair<long, std::string>{2, "\\q is not a JSON escape"});
  CHECK(error_in(R"(["\ud800"])") == std::pair<long, std::string>{2, "\\u escape of half a surrogate pair"});
  CHECK(error_in(R"(["\u12"])") == std::pair<long, std::string>{2, "\\u needs four hexadecimal digits"});
  CHECK(error_in("[\"\xc3\"]") == std::pair<long, std::string>{2, "a string that is not valid UTF-8"});
  CHECK(error_in("[01]") == std::pair<long, std::string>{2, "a number with a leading zero"});
  CHECK(error_in("[1.]") == std::pair<long, std::string>{3, "expected a digit after '.', found ']'"});
  CHECK(error_in("[tru]") == std::pair<long, std::string>{1, "expected a value, found 't'"});
  CHECK(error_in("{} {}") == std::pair<long, std::string>{3, "'{' after the end of the JSON value"});
  CHECK(error_in("") == std::pair<long, std::string>{0, "expected a value, found the end of the text"});
  CHECK(error_in(std::string(1024, '[') + std::string(1024, ']')).first == -1);
  CHECK(error_in(std::string(1025, '[') + std::string(1025, ']')) ==
        std::pair<long, std::string>{1024, "nested deeper than 1024 levels"});
}

TEST_CASE("strings: viewed in place without escapes - unescaped with them - surrogate pairs joined") {
  std::string text = R"(["plain.name", "tab\there \"q\" \\ \/ \u00e9 \ud83d\ude00 end"])";
  JsonCursor cursor(text);
  std::string scratch;
  std::string_view value;
  REQUIRE(cursor.begin_array());
  REQUIRE(cursor.next_element());
  REQUIRE(cursor.string(value, scratch));
  CHECK(value == "plain.name");
  CHECK(value.data() == text.data() + 2);  // a view of the text: nothing copied
  REQUIRE(cursor.next_element());
  REQUIRE(cursor.string(value, scratch));
  CHECK(value == "tab\there \"q\" \\ / \xc3\xa9 \xf0\x9f\x98\x80 end");
  CHECK_FALSE(cursor.next_element());
  cursor.finish();
}

TEST_CASE("integers: int64's range - fractions and exponents are numbers but not integers") {
  auto read = [](const std::string& text, int64_t& out) {
    JsonCursor cursor(text);
    auto result = cursor.integer(out);
    if (result != JsonCursor::Integer::not_number) cursor.finish();  // the whole number was read
    return result;
  };
  int64_t value = 0;
  CHECK(read("9223372036854775807", value) == JsonCursor::Integer::read);
  CHECK(value == INT64_MAX);
  CHECK(read("-9223372036854775808", value) == JsonCursor::Integer::read);
  CHECK(value == INT64_MIN);
  CHECK(read("9223372036854775808", value) == JsonCursor::Integer::not_integer);
  CHECK(read("99999999999999999999999", value) == JsonCursor::Integer::not_integer);
  CHECK(read("2.0", value) == JsonCursor::Integer::not_integer);
  CHECK(read("2e3", value) == JsonCursor::Integer::not_integer);
  CHECK(read("\"2\"", value) == JsonCursor::Integer::not_number);
  CHECK(value == INT64_MIN);  // left alone by what was not an integer
}

TEST_CASE("a value of another kind is not read - the caller can skip it and go on") {
  std::string text = R"({"shape": "2", "dtype": "f"})";
  JsonCursor cursor(text);
  std::string scratch;
  std::string_view key, value;
  REQUIRE(cursor.begin_object());
  REQUIRE(cursor.next_key(key, scratch));
  CHECK(key == "shape");
  CHECK_FALSE(cursor.begin_array());
  cursor.skip();
  REQUIRE(cursor.next_key(key, scratch));
  CHECK(key == "dtype");
  REQUIRE(cursor.string(value, scratch));
  CHECK(value == "f");
  CHECK_FALSE(cursor.next_key(key, scratch));
  cursor.finish();
}

TEST_CASE("strings written as JSON are nlohmann's dump() byte for byte - read back as written - bad UTF-8 refused") {
  std::mt19937 random(7);
  const std::vector<std::string> pieces = {"a", "blocks.0.attn.qkv.weight", "\"", "\\", "\n", "\t", std::string(1, '\0'), "\x1f",
                                           "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", " ", "~"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    for (int k = static_cast<int>(random() % 12); k > 0; --k) text += pieces[random() % pieces.size()];
    CAPTURE(text);
    std::string plain, ascii;
    REQUIRE(append_json_string(plain, text));
    REQUIRE(append_json_string(ascii, text, true));
    CHECK(plain == nlohmann::json(text).dump());
    CHECK(ascii == nlohmann::json(text).dump(-1, ' ', true));
    JsonCursor cursor(plain);
    std::string scratch;
    std::string_view back;
    REQUIRE(cursor.string(back, scratch));
    CHECK(back == text);
  }
  std::string out;
  for (const std::string& bad : std::vector<std::string>{"\xc3", "ab\xff", "\xed\xa0\x80", "\xc0\xaf", std::string(40, 'x') + "\xf4\x90\x80\x80"}) {
    CAPTURE(bad);
    CHECK_FALSE(append_json_string(out, bad));
    CHECK_THROWS_AS((void)nlohmann::json(bad).dump(), nlohmann::json::type_error);
  }
}
