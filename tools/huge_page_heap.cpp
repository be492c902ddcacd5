#include "tools/huge_page_heap.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#endif

namespace taxon::cli {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // the sanitizer's allocator ignores glibc's settings
#else
constexpr bool kSanitized = false;
#endif

// Below this, the faults huge pages save cost less than preparing the heap.
constexpr off_t kLargeInput = 4 << 20;

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::uintptr_t kHugePage = 2 * kMiB;

// The heap below its first 2 MiB boundary, taken so that nothing is placed there; held, not
// leaked, for memory checkers.
void* heap_head = nullptr;

// "always [madvise] never": huge pages for regions that ask, or for all.
bool kernel_offers_huge_pages() {
  std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(setting, line);
  return line.find("[always]") != std::string::npos || line.find("[madvise]") != std::string::npos;
}

// The size of the largest input an argument names: a file (`--dump=PATH` too), or `-` for
// stdin when it is a file; a pipe on stdin counts as large (a dump piped in).
off_t largest_input(char** argv) {
  off_t largest = 0;
  for (char** arg = argv + 1; *arg; ++arg) {
    const char* text = *arg;
    if (const char* equals = std::strchr(text, '='); equals && text[0] == '-') text = equals + 1;
    struct stat info {};
    if (std::strcmp(text, "-") == 0) {
      if (::fstat(STDIN_FILENO, &info) != 0) continue;
      if (S_ISFIFO(info.st_mode)) largest = std::max<off_t>(largest, kLargeInput);
      else if (S_ISREG(info.st_mode)) largest = std::max(largest, info.st_size);
    } else if (::stat(text, &info) == 0 && S_ISREG(info.st_mode)) {
      largest = std::max(largest, info.st_size);
    }
  }
  return largest;
}

}  // namespace

void prepare_heap_for_large_input(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  if (kSanitized || std::getenv("GLIBC_TUNABLES")) return;  // the user's own heap settings stand
  if (const char* choice = std::getenv("TAXON_HUGE_PAGES"); choice && std::strcmp(choice, "0") == 0) return;
  off_t input = largest_input(argv);
  if (input < kLargeInput || !kernel_offers_huge_pages()) return;
  // One heap for all threads (the dump reader's second thread would start one of its own);
  // memory freed kept for reuse, not handed back and faulted in afresh (zeroed) by the next
  // large block: blocks up to 32 MiB (glibc's most) come from the heap, which grows 64 MiB at a
  // time and is trimmed only past 2 GiB free (the process ends soon after).
  ::mallopt(M_ARENA_MAX, 1);
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, INT_MAX);
  // Huge pages for the heap: grow it once by what the input will need (a dump's tables take
  // about its size again; bounded: a checkpoint's tensor bytes are not read into the heap), and
  // ask for huge pages from the first 2 MiB boundary of the space grown on. Only address space
  // is taken here; pages are faulted in, 2 MiB at a time, as they are first written.
  auto reserve = static_cast<int>(std::clamp(static_cast<std::size_t>(input) * 2, 64 * kMiB, 1024 * kMiB));
  ::mallopt(M_TOP_PAD, reserve);
  void* probe = std::malloc(4 * kMiB);  // more than the heap holds at start-up: it grows by this and the pad
  auto top = reinterpret_cast<std::uintptr_t>(probe);
  auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));
  std::free(probe);  // back into the heap's free end, where the next blocks are cut from
  ::mallopt(M_TOP_PAD, 64 << 20);  // later growth
  std::uintptr_t boundary = (top + kHugePage - 1) & ~(kHugePage - 1);
  if (!probe || end < boundary + kHugePage || end - top < 4 * kMiB) return;  // not from a grown heap
  // What lies below the boundary could only ever be on 4 KiB pages: one block, never written
  // (so never faulted in), takes it, and what follows is cut from the boundary on.
  if (boundary - top >= 4096) heap_head = std::malloc(boundary - top - sizeof(std::size_t));
  ::madvise(reinterpret_cast<void*>(boundary), end - boundary, MADV_HUGEPAGE);
#else
  (void)argv;
#endif
}

}  // namespace taxon::cli
