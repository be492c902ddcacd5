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

namespace taxon {

class JsonSyntaxError : public std::runtime_error {
 public:
  JsonSyntaxError(std::size_t offset, const std::string& what) : std::runtime_error(what), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

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

  void skip_whitespace();
  bool next_member(char close);
  bool enter(Kind container);
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_expected(std::string_view expected) const;
  void expect_literal(std::string_view literal);
  void read_string(std::string_view& out, std::string& scratch);
  void unescape(const char* from, std::string& scratch);
  void skip_number();

  const char* begin_;
  const char* at_;
  const char* end_;
  // Containers entered and not yet left: whether the next member needs a comma first.
  bool need_comma_ = false;
  int depth_ = 0;
};

}  // namespace taxon
