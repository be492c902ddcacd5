// runtime/utf8.hpp against simdjson's validator (an independent implementation): every sequence
// of up to three bytes, and the four-byte ones around each boundary of the second byte's range.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <random>
#include <string>

#include "runtime/utf8.hpp"

namespace {

bool utf8_agrees_with_simdjson(const std::string& text) {
  return taxon::is_valid_utf8(text) == simdjson::validate_utf8(text.data(), text.size());
}

}  // namespace

TEST_CASE("UTF-8 validation agrees with simdjson on every sequence of up to three bytes") {
  std::size_t disagreements = 0, valid = 0;
  std::string text;
  for (uint32_t bytes = 0; bytes < (1u << 24); ++bytes) {
    for (std::size_t length = 1; length <= 3; ++length) {
      if (length < 3 && (bytes >> (8 * length)) != 0) continue;
      text.assign(length, '\0');
      for (std::size_t k = 0; k < length; ++k) text[k] = static_cast<char>((bytes >> (8 * (length - 1 - k))) & 0xFF);
      disagreements += !utf8_agrees_with_simdjson(text);
      valid += taxon::is_valid_utf8(text);
    }
  }
  CHECK(disagreements == 0);
  // 128 one-byte texts; 128^2 + 1920 two-byte; 128^3 + 2*128*1920 + 61440 three-byte.
  CHECK(valid == 128 + (128 * 128 + 1920) + (128 * 128 * 128 + 2 * 128 * 1920 + 61440));
}

TEST_CASE("UTF-8 validation agrees with simdjson on four-byte sequences - and on long mixed texts") {
  const unsigned char edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  std::size_t disagreements = 0;
  for (unsigned lead = 0xE0; lead <= 0xFF; ++lead)
    for (unsigned second = 0; second <= 0xFF; ++second)
      for (unsigned char third : edges)
        for (unsigned char fourth : edges) {
          std::string text{static_cast<char>(lead), static_cast<char>(second), static_cast<char>(third), static_cast<char>(fourth)};
          disagreements += !utf8_agrees_with_simdjson(text);
        }
  CHECK(disagreements == 0);
  // Valid pieces with an occasional stray byte, cut anywhere: a sequence split by the end of the
  // text or by another sequence.
  const std::string pieces[] = {"model.layers.0.", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
  std::mt19937 random(11);
  std::size_t valid = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    for (int k = static_cast<int>(random() % 8); k > 0; --k) text += pieces[random() % std::size(pieces)];
    if (random() % 3 == 0 && !text.empty()) text[random() % text.size()] = static_cast<char>(random() % 256);
    if (random() % 3 == 0) text.resize(random() % (text.size() + 1));
    CAPTURE(text);
    CHECK(utf8_agrees_with_simdjson(text));
    valid += taxon::is_valid_utf8(text);
  }
  CHECK(valid > 5000);
  CHECK(valid < 19000);  // both kinds met
}
