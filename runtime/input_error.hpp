// The one exception the runtime throws for bad input: an unreadable,
// corrupt or unsupported file. Its message names the file, where in it, what
// is wrong and what to do; the CLI prints it with its code and exits 2.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace taxon {

namespace code {
inline constexpr std::string_view unreadable_file = "T0601";
inline constexpr std::string_view malformed_dump = "T0602";
inline constexpr std::string_view unsupported_input = "T0603";
inline constexpr std::string_view unwritable_output = "T0604";
inline constexpr std::string_view no_such_tensor = "T0605";
inline constexpr std::string_view corrupt_checkpoint = "T0606";
inline constexpr std::string_view forbidden_global = "T0607";
inline constexpr std::string_view no_state_dict = "T0608";
inline constexpr std::string_view no_plan = "T0609";
}  // namespace code

class InputError : public std::runtime_error {
 public:
  InputError(std::string_view code, const std::string& message) : std::runtime_error(message), code_(code) {}
  std::string_view code() const { return code_; }

 private:
  std::string_view code_;
};

}  // namespace taxon
