// JSON string literals written straight into an output buffer (the writers stream their
// headers and indexes: no JSON object whose keyed insert costs a search).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/json_scan.hpp"
#include "runtime/utf8.hpp"

namespace taxon {

// Appends `text` to `out` (a std::string, or any sink with `+= char`, `+= const char*` and
// `append(const char*, size_t)`) as a quoted JSON string: `"` `\` and the control characters escaped as
// nlohmann::json's dump() escapes them (\b \t \n \f \r, else \u00xx in lowercase hex); with
// `ascii_only`, every code point from U+007F up as \uxxxx too (surrogate pairs above U+FFFF),
// as Python's json.dumps does by default. Returns false, with `out` unspecified, when `text` is
// not valid UTF-8 (overlong forms, surrogates and code points past U+10FFFF are invalid).
template <typename Out>
bool append_json_string(Out& out, std::string_view text, bool ascii_only = false) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escape_unit = [&](uint32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xF];
  };
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // A run of printable ASCII that needs no escape, appended in one piece.
    auto plain = static_cast<std::size_t>(plain_json_run(text.data() + i, text.data() + text.size(), true) - text.data());
    if (plain > i) {
      out.append(text.data() + i, plain - i);
      i = plain;
      continue;
    }
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      switch (byte) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\f': out += "\\f"; break;
        case '\r': out += "\\r"; break;
        default:
          if (byte < 0x20 || (ascii_only && byte == 0x7F)) escape_unit(byte);
          else out += static_cast<char>(byte);
          break;
      }
      ++i;
      continue;
    }
    uint32_t code;
    std::size_t length;
    if (!decode_utf8_sequence(text, i, code, length)) return false;
    if (!ascii_only) {
      out.append(text.data() + i, length);
    } else if (code <= 0xFFFF) {
      escape_unit(code);
    } else {
      escape_unit(0xD800 + ((code - 0x10000) >> 10));
      escape_unit(0xDC00 + ((code - 0x10000) & 0x3FF));
    }
    i += length;
  }
  out += '"';
  return true;
}

}  // namespace taxon
