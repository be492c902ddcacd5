// Well-formed UTF-8 (Unicode's table 3-7): no overlong forms, no surrogates (U+D800-U+DFFF),
// nothing past U+10FFFF, no sequence cut short. What a JSON reader must refuse in a string, and
// what a JSON (or safetensors header) writer must not write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace taxon {

// The sequence that starts at text[at] (a byte past ASCII): its code point and its length in
// bytes; false when it is not a well-formed sequence.
inline bool decode_utf8_sequence(std::string_view text, std::size_t at, uint32_t& code, std::size_t& length) {
  auto byte = static_cast<unsigned char>(text[at]);
  uint32_t minimum;
  if ((byte & 0xE0) == 0xC0) length = 2, code = byte & 0x1F, minimum = 0x80;
  else if ((byte & 0xF0) == 0xE0) length = 3, code = byte & 0x0F, minimum = 0x800;
  else if ((byte & 0xF8) == 0xF0) length = 4, code = byte & 0x07, minimum = 0x10000;
  else return false;  // a continuation byte, or F8-FF
  if (text.size() - at < length) return false;
  for (std::size_t k = 1; k < length; ++k) {
    auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xC0) != 0x80) return false;
    code = (code << 6) | (next & 0x3F);
  }
  return code >= minimum && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
}

inline bool is_valid_utf8(std::string_view text) {
  uint32_t code;
  std::size_t length;
  for (std::size_t at = 0; at < text.size();) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
    } else {
      if (!decode_utf8_sequence(text, at, code, length)) return false;
      at += length;
    }
  }
  return true;
}

}  // namespace taxon
