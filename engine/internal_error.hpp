// The third of taxon's three ways to fail (docs/diagnostics.md#three-ways-to-fail): a bug in
// taxon itself. The user's mistakes are Diagnostics; what keeps taxon from running (a file it
// cannot read or write, a library it cannot load) is an InputError with its code
// (runtime/input_error.hpp); an InternalError says that an invariant taxon relies on does not
// hold. It has no code: it is not something the user can fix. The CLI prints
// "internal error: <what>; please report this at <tracker> with the command that failed"
// and exits 3 (docs/cli.md).
#pragma once

#include <stdexcept>
#include <string>

// Where to report bugs; a packager may point it elsewhere (-DTAXON_ISSUE_TRACKER="...").
#ifndef TAXON_ISSUE_TRACKER
#define TAXON_ISSUE_TRACKER "the taxon issue tracker"
#endif

namespace taxon {

class InternalError : public std::logic_error {
 public:
  // `what`: the invariant that broke, with what taxon was doing ("a recipe produced [3] where the plan expects [4]").
  explicit InternalError(const std::string& what)
      : std::logic_error(what + "; please report this at " TAXON_ISSUE_TRACKER " with the command that failed") {}
};

// An assertion that stays in release builds: throws InternalError(what) when `holds` is false.
inline void check_invariant(bool holds, const char* what) {
  if (!holds) throw InternalError(what);
}

}  // namespace taxon
