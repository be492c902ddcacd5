#include "tools/huge_page_heap.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace taxon::cli {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // the sanitizer's allocator ignores glibc's tunables
#else
constexpr bool kSanitized = false;
#endif

// "always [madvise] never": huge pages for regions that ask (glibc's hugetlb=1 asks) or for all.
bool kernel_offers_huge_pages() {
  std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(setting, line);
  return line.find("[always]") != std::string::npos || line.find("[madvise]") != std::string::npos;
}

// The heap a large input gets, as glibc tunables (they are read at start-up, hence the second
// start): huge pages; and memory freed kept for reuse, not handed back to the kernel and faulted
// in afresh (zeroed) by the next large allocation: blocks up to 32 MiB come from the heap, which
// grows 64 MiB at a time and is never trimmed (the process ends soon after); and one heap for
// all threads (the dump reader's second thread would otherwise start a heap of its own, on huge
// pages too: megabytes more). A 1M-tensor dump: 1.36 s -> 0.83 s; 92k tensors: 100 -> 70 ms
// (docs/performance.md).
constexpr const char* kLargeInputHeap =
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:"
    "glibc.malloc.top_pad=67108864:glibc.malloc.arena_max=1";

// Below this, the faults huge pages save cost less than starting again (a few ms).
constexpr off_t kLargeInput = 4 << 20;

// Whether an argument names an input large enough to pay for starting again: a file of at least
// kLargeInput (`--dump=PATH` too), or `-` when stdin is such a file or a pipe (a dump piped in).
bool reads_large_input(char** argv) {
  for (char** arg = argv + 1; *arg; ++arg) {
    const char* text = *arg;
    if (const char* equals = std::strchr(text, '='); equals && text[0] == '-') text = equals + 1;
    struct stat info {};
    if (std::strcmp(text, "-") == 0) {
      if (::fstat(STDIN_FILENO, &info) == 0 && (S_ISFIFO(info.st_mode) || (S_ISREG(info.st_mode) && info.st_size >= kLargeInput)))
        return true;
    } else if (::stat(text, &info) == 0 && S_ISREG(info.st_mode) && info.st_size >= kLargeInput) {
      return true;
    }
  }
  return false;
}

}  // namespace

void relaunch_with_huge_page_heap(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  if (kSanitized || std::getenv("GLIBC_TUNABLES")) return;  // set: by us on the second start, or by the user
  if (const char* choice = std::getenv("TAXON_HUGE_PAGES"); choice && std::strcmp(choice, "0") == 0) return;
  if (!reads_large_input(argv) || !kernel_offers_huge_pages()) return;
  if (::setenv("GLIBC_TUNABLES", kLargeInputHeap, 0) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");  // could not start again: go on as we are
#else
  (void)argv;
#endif
}

}  // namespace taxon::cli
