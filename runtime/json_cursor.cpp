#include "runtime/json_cursor.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "runtime/utf8.hpp"

namespace taxon {

TextPosition position_in(std::string_view text, std::size_t offset) {
  std::string_view before = text.substr(0, std::min(offset, text.size()));
  std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  std::size_t line_start = before.rfind('\n');
  return {line, line_start == std::string_view::npos ? before.size() + 1 : before.size() - line_start};
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// What a message calls the character at `at`.
std::string found_at(const char* at, const char* end) {
  if (at >= end) return "the end of the text";
  unsigned char c = static_cast<unsigned char>(*at);
  if (c < 0x20 || c >= 0x7F) return fmt::format("byte 0x{:02x}", c);
  return fmt::format("'{}'", *at);
}

}  // namespace

void JsonCursor::fail(const std::string& what) const { throw JsonSyntaxError(offset(), what); }

void JsonCursor::fail_expected(std::string_view expected) const {
  fail(fmt::format("expected {}, found {}", expected, found_at(at_, end_)));
}

void JsonCursor::fail_nesting() const { fail("nested deeper than 1024 levels"); }

bool JsonCursor::boolean(bool& out) {
  if (kind() != Kind::boolean) return false;
  out = *at_ == 't';
  expect_literal(out ? "true" : "false");
  return true;
}

bool JsonCursor::null() {
  if (kind() != Kind::null) return false;
  expect_literal("null");
  return true;
}

void JsonCursor::expect_literal(std::string_view literal) {
  if (static_cast<std::size_t>(end_ - at_) < literal.size() || std::string_view(at_, literal.size()) != literal)
    fail_expected("a value");
  at_ += literal.size();
}

// A string read_string stopped in, at `at_`, from `start` (its first byte): viewed in place when
// nothing in it needs unescaping. Control characters must be escaped; bytes past ASCII must be
// UTF-8.
void JsonCursor::read_string_rest(const char* start, std::string_view& out, std::string& scratch) {
  bool ascii = true;
  while (at_ < end_) {
    at_ = plain_json_run(at_, end_, false);
    if (at_ >= end_) break;
    unsigned char c = static_cast<unsigned char>(*at_);
    if (c == '"') break;
    if (c == '\\') {
      unescape(start, scratch);
      out = scratch;
      return;
    }
    if (c < 0x20) fail(fmt::format("a control character (byte 0x{:02x}) in a string; write it as \\u{:04x}", c, c));
    ascii &= c < 0x80;
    ++at_;
  }
  if (at_ >= end_) throw JsonSyntaxError(static_cast<std::size_t>(start - 1 - begin_), "a string that is never closed");
  if (!ascii && !is_valid_utf8(std::string_view(start, static_cast<std::size_t>(at_ - start))))
    throw JsonSyntaxError(static_cast<std::size_t>(start - begin_), "a string that is not valid UTF-8");
  out = std::string_view(start, static_cast<std::size_t>(at_ - start));
  ++at_;  // the closing quote
}

// From `from` (the string's first byte) to its closing quote, escapes resolved, into `scratch`.
void JsonCursor::unescape(const char* from, std::string& scratch) {
  scratch.assign(from, at_);
  const char* run = at_;  // start of the bytes not yet copied
  auto read_hex4 = [&](const char* at) -> uint32_t {
    if (end_ - at < 4) fail("\\u needs four hexadecimal digits");
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      int digit = hex_value(at[i]);
      if (digit < 0) fail("\\u needs four hexadecimal digits");
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    return code;
  };
  while (at_ < end_) {
    unsigned char c = static_cast<unsigned char>(*at_);
    if (c == '"') break;
    if (c < 0x20) fail(fmt::format("a control character (byte 0x{:02x}) in a string; write it as \\u{:04x}", c, c));
    if (c != '\\') {
      ++at_;
      continue;
    }
    scratch.append(run, at_);
    if (end_ - at_ < 2) fail("a string that is never closed");
    char escape = at_[1];
    at_ += 2;
    switch (escape) {
      case '"': scratch += '"'; break;
      case '\\': scratch += '\\'; break;
      case '/': scratch += '/'; break;
      case 'b': scratch += '\b'; break;
      case 'f': scratch += '\f'; break;
      case 'n': scratch += '\n'; break;
      case 'r': scratch += '\r'; break;
      case 't': scratch += '\t'; break;
      case 'u': {
        at_ -= 2;  // errors point at the escape
        uint32_t code = read_hex4(at_ + 2);
        const char* after = at_ + 6;
        if (code >= 0xD800 && code <= 0xDBFF) {  // a high surrogate: its low half must follow
          if (end_ - after < 6 || after[0] != '\\' || after[1] != 'u') fail("\\u escape of half a surrogate pair");
          uint32_t low = read_hex4(after + 2);
          if (low < 0xDC00 || low > 0xDFFF) fail("\\u escape of half a surrogate pair");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          after += 6;
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          fail("\\u escape of half a surrogate pair");
        }
        append_utf8(scratch, code);
        at_ = after;
        break;
      }
      default:
        at_ -= 2;
        fail(fmt::format("\\{} is not a JSON escape", escape));
    }
    run = at_;
  }
  if (at_ >= end_) throw JsonSyntaxError(static_cast<std::size_t>(from - 1 - begin_), "a string that is never closed");
  scratch.append(run, at_);
  if (!is_valid_utf8(scratch))
    throw JsonSyntaxError(static_cast<std::size_t>(from - begin_), "a string that is not valid UTF-8");
  ++at_;
}

JsonCursor::Integer JsonCursor::integer(int64_t& out) {
  if (kind() != Kind::number) return Integer::not_number;
  // The common case, up to 18 digits with nothing after them that makes a number, in one pass.
  {
    const char* digits = at_ + (*at_ == '-');
    const char* at = digits;
    uint64_t value = 0;
    for (; at < end_ && is_digit(*at) && at - digits < 18; ++at) value = value * 10 + static_cast<uint64_t>(*at - '0');
    bool ended = at == end_ || (!is_digit(*at) && *at != '.' && *at != 'e' && *at != 'E');
    if (at > digits && ended && (*digits != '0' || at - digits == 1)) {
      out = *at_ == '-' ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
      at_ = at;
      return Integer::read;
    }
  }
  const char* start = at_;
  bool negative = *at_ == '-';
  skip_number();
  std::string_view text(start, static_cast<std::size_t>(at_ - start));
  std::string_view digits = negative ? text.substr(1) : text;
  for (char c : digits)
    if (!is_digit(c)) return Integer::not_integer;  // a fraction or an exponent
  uint64_t magnitude = 0;
  for (char c : digits) {
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (UINT64_MAX - digit) / 10) return Integer::not_integer;
    magnitude = magnitude * 10 + digit;
  }
  uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return Integer::not_integer;
  out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return Integer::read;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
void JsonCursor::skip_number() {
  if (*at_ == '-') ++at_;
  if (at_ >= end_ || !is_digit(*at_)) fail_expected("a digit");
  if (*at_ == '0') {
    ++at_;
    if (at_ < end_ && is_digit(*at_)) fail("a number with a leading zero");
  } else {
    while (at_ < end_ && is_digit(*at_)) ++at_;
  }
  if (at_ < end_ && *at_ == '.') {
    ++at_;
    if (at_ >= end_ || !is_digit(*at_)) fail_expected("a digit after '.'");
    while (at_ < end_ && is_digit(*at_)) ++at_;
  }
  if (at_ < end_ && (*at_ == 'e' || *at_ == 'E')) {
    ++at_;
    if (at_ < end_ && (*at_ == '+' || *at_ == '-')) ++at_;
    if (at_ >= end_ || !is_digit(*at_)) fail_expected("a digit in the exponent");
    while (at_ < end_ && is_digit(*at_)) ++at_;
  }
}

void JsonCursor::skip() {
  std::string scratch;
  std::string_view ignored;
  switch (kind()) {
    case Kind::object:
      begin_object();
      while (next_key(ignored, scratch)) skip();
      return;
    case Kind::array:
      begin_array();
      while (next_element()) skip();
      return;
    case Kind::string: read_string(ignored, scratch); return;
    case Kind::number: skip_number(); return;
    case Kind::boolean: {
      bool value = false;
      boolean(value);
      return;
    }
    case Kind::null: null(); return;
  }
}

void JsonCursor::finish() {
  skip_whitespace();
  if (at_ < end_) fail(fmt::format("{} after the end of the JSON value", found_at(at_, end_)));
}

void JsonCursor::validate(std::string_view text) {
  JsonCursor cursor(text);
  cursor.skip();
  cursor.finish();
}

}  // namespace taxon
