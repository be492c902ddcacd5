// A stand-in for libtaxon_actions.so: the same interface (runtime/taxon_actions.h), and every
// action fails, as the real library would on a step that the plan's checks let through. The
// golden tests/golden/actions/action_failed.golden shows what `taxon apply` says then (T0807).
#include <cstdio>

#include "runtime/taxon_actions.h"

extern "C" int taxon_actions_abi(void) { return TAXON_ACTIONS_ABI; }

extern "C" int taxon_action_run(const char* action, const char*, const taxon_tensor_in*, const int64_t*, int64_t,
                                taxon_tensor_out*, char* error, size_t error_size) {
  std::snprintf(error, error_size, "this stand-in library fails every action (%s)", action);
  return 1;
}

extern "C" void taxon_action_free(void*) {}
