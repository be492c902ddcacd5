// The scan both JSON directions share: past the bytes of a string that need no look.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace taxon {

// Past the bytes from `at` that are neither '"', '\\', a control character, a byte past ASCII,
// nor (with `stop_at_delete`) 0x7F: the run a reader views and a writer copies as it is. Sixteen
// bytes at a time where the machine has SSE2 (every x86-64 does).
inline const char* plain_json_run(const char* at, const char* end, bool stop_at_delete) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(stop_at_delete ? 0x7F : '"');
  while (end - at >= 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    // Signed: bytes past ASCII are negative, so "less than a space" also finds them.
    __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                                   _mm_or_si128(_mm_cmplt_epi8(bytes, space), _mm_cmpeq_epi8(bytes, del)));
    if (int mask = _mm_movemask_epi8(special); mask != 0) return at + __builtin_ctz(static_cast<unsigned>(mask));
    at += 16;
  }
#endif
  for (; at < end; ++at) {
    auto c = static_cast<unsigned char>(*at);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80 || (stop_at_delete && c == 0x7F)) return at;
  }
  return at;
}

}  // namespace taxon
