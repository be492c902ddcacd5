/* The tensor actions' C interface: `taxon apply` loads libtaxon_actions.so
 * with dlopen only when a plan needs an action, so the taxon binary itself
 * never links LibTorch (0.4 s of start-up). Inputs are contiguous
 * little-endian buffers; outputs are allocated by the library and released
 * with taxon_action_free. The host's side (runtime/actions.cpp) owns this
 * interface; the library (stdlib/actions/) includes it from here, so the
 * dependency runs one way: stdlib -> runtime. */
#ifndef TAXON_ACTIONS_H
#define TAXON_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAXON_ACTIONS_ABI 1
#define TAXON_EXPORT __attribute__((visibility("default")))

typedef struct {
  const char* dtype; /* PyTorch's name: "float32", "bfloat16", ... */
  int64_t ndim;
  const int64_t* shape;
  const void* data;
} taxon_tensor_in;

typedef struct {
  const char* dtype; /* static string */
  void* data;        /* release with taxon_action_free */
  size_t nbytes;
} taxon_tensor_out;

TAXON_EXPORT int taxon_actions_abi(void);

/* Runs `action` ("rel_pos_bias", "pos_embed", "cast", ...) on one tensor,
 * producing `target_shape`; `options_json` is a JSON object of the plan's
 * options. Returns 0, or non-zero with a message in `error`. */
TAXON_EXPORT int taxon_action_run(const char* action, const char* options_json, const taxon_tensor_in* input, const int64_t* target_shape,
                     int64_t target_ndim, taxon_tensor_out* output, char* error, size_t error_size);

TAXON_EXPORT void taxon_action_free(void* data);

#ifdef __cplusplus
}
#endif

#endif
