// A strict, forward-only JSON reader over text in memory (a mapped file): the caller walks
// the document it expects, value by value, and anything else is skipped (still checked). It
// keeps no index of the document, so reading a dump costs the records made from it and no
// more (a structural index of a 150 MB dump is ~100 MB). Strings without escapes are viewed
// in the text; others are unescaped into a buffer the caller owns.
//
// Accepts exactly RFC 8259 JSON in UTF-8: a syntax error throws JsonSyntaxError with the byte
// where the text stops being JSON and what was expected there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "runtime/json_scan.hpp"

namespace taxon {

class JsonSyntaxError : public std::runtime_error {
 public:
  JsonSyntaxError(std::size_t offset, const std::string& what) : std::runtime_error(what), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

// Where byte `offset` of `text` is, as a line and a column (in bytes) counted from 1: for
// messages about a JSON file that a person can open at the place.
struct TextPosition {
  std::size_t line, column;
};
TextPosition position_in(std::string_view text, std::size_t offset);

class JsonCursor {
 public:
  enum class Kind { object, array, string, number, boolean, null };

  explicit JsonCursor(std::string_view text) : begin_(text.data()), at_(text.data()), end_(text.data() + text.size()) {}
  // A cursor where an array's element starts (its comma read), `depth` containers deep: for a
  // reader that takes up a long list in the middle. It reads what a cursor that came there from
  // the start would read, provided an element really starts there.
  static JsonCursor at_element(std::string_view text, std::size_t offset, int depth) {
    JsonCursor cursor(text);
    cursor.at_ += offset;
    cursor.depth_ = depth;
    return cursor;
  }

  // The kind of the next value (whitespace skipped); a syntax error where no value starts.
  Kind kind();

  // An object's members: begin_object() (the next value must be one; false when it is not,
  // and nothing is read), then next_key() until it returns false at the closing brace.
  bool begin_object();
  bool next_key(std::string_view& key, std::string& scratch);
  // An array's elements likewise: begin_array(), then next_element() before each.
  bool begin_array();
  bool next_element();

  // Each reads the next value when it is of the kind named, and returns false (reading
  // nothing) when it is not.
  bool string(std::string_view& out, std::string& scratch);
  bool boolean(bool& out);
  bool null();
  // A number that is an integer in int64's range (no fraction, no exponent). A number that is
  // not is read all the same, and `out` is left alone: the result says which.
  enum class Integer { read, not_integer, not_number };
  Integer integer(int64_t& out);

  // Any value, checked and passed over.
  void skip();
  // After the top-level value: nothing but whitespace may follow.
  void finish();

  std::size_t offset() const { return static_cast<std::size_t>(at_ - begin_); }
  int depth() const { return depth_; }  // containers entered and not yet left

  // Checks that `text` is one JSON value; throws JsonSyntaxError where it is not.
  static void validate(std::string_view text);

 private:
  static constexpr int kMaxDepth = 1024;

  // What a dump is made of, a million times over, is inline below; the rest (escapes, errors,
  // other UTF-8) is out of line.
  void skip_whitespace();
  bool next_member(char close);
  bool enter(Kind container);
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_expected(std::string_view expected) const;
  [[noreturn]] void fail_nesting() const;
  void expect_literal(std::string_view literal);
  void read_string(std::string_view& out, std::string& scratch);
  void read_string_rest(const char* start, std::string_view& out, std::string& scratch);
  void unescape(const char* from, std::string& scratch);
  void skip_number();

  const char* begin_;
  const char* at_;
  const char* end_;
  // Containers entered and not yet left: whether the next member needs a comma first.
  bool need_comma_ = false;
  int depth_ = 0;
};

inline void JsonCursor::skip_whitespace() {
  while (at_ < end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
}

inline JsonCursor::Kind JsonCursor::kind() {
  skip_whitespace();
  if (at_ < end_) switch (*at_) {
      case '{': return Kind::object;
      case '[': return Kind::array;
      case '"': return Kind::string;
      case 't':
      case 'f': return Kind::boolean;
      case 'n': return Kind::null;
      case '-': return Kind::number;
      default:
        if (*at_ >= '0' && *at_ <= '9') return Kind::number;
    }
  fail_expected("a value");
}

inline bool JsonCursor::enter(Kind container) {
  if (kind() != container) return false;
  if (++depth_ > kMaxDepth) fail_nesting();
  ++at_;
  need_comma_ = false;
  return true;
}

inline bool JsonCursor::begin_object() { return enter(Kind::object); }

inline bool JsonCursor::begin_array() { return enter(Kind::array); }

// Before a container's next member: false, the container left, at `close`; else past the
// comma any member but the first needs. A container closes only after its members were read,
// so the one around it, if any, has had a member (this one): its next member needs a comma.
inline bool JsonCursor::next_member(char close) {
  skip_whitespace();
  if (at_ < end_ && *at_ == close) {
    ++at_;
    --depth_;
    need_comma_ = true;
    return false;
  }
  if (need_comma_) {
    if (at_ >= end_ || *at_ != ',') fail_expected(close == '}' ? "',' or '}'" : "',' or ']'");
    ++at_;
  }
  need_comma_ = true;
  return true;
}

inline bool JsonCursor::next_key(std::string_view& key, std::string& scratch) {
  bool first = !need_comma_;
  if (!next_member('}')) return false;
  skip_whitespace();
  if (at_ >= end_ || *at_ != '"') fail_expected(first ? "a key (a string) or '}'" : "a key (a string)");
  read_string(key, scratch);
  skip_whitespace();
  if (at_ >= end_ || *at_ != ':') fail_expected("':'");
  ++at_;
  return true;
}

inline bool JsonCursor::next_element() {
  // Text a few elements ahead is asked for now: a mapped file's pages are scattered, so the
  // hardware prefetcher stops at each page's end and the parser would wait on memory.
  __builtin_prefetch(at_ + 1024);
  __builtin_prefetch(at_ + 1088);
  __builtin_prefetch(at_ + 1152);
  __builtin_prefetch(at_ + 1216);
  return next_member(']');
}

inline bool JsonCursor::string(std::string_view& out, std::string& scratch) {
  if (kind() != Kind::string) return false;
  read_string(out, scratch);
  return true;
}

// The text between the quotes, viewed in place: here when it is plain ASCII up to the closing
// quote, else by read_string_rest.
inline void JsonCursor::read_string(std::string_view& out, std::string& scratch) {
  const char* start = ++at_;  // past the opening quote
  const char* stop = plain_json_run(at_, end_, false);
  if (stop < end_ && *stop == '"') {
    out = std::string_view(start, static_cast<std::size_t>(stop - start));
    at_ = stop + 1;
    return;
  }
  at_ = stop;
  read_string_rest(start, out, scratch);
}

}  // namespace taxon
