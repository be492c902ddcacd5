// The command line's heap on transparent huge pages (docs/performance.md).
#pragma once

namespace taxon::cli {

// Where glibc and the kernel allow it, starts this program again, once, with a heap for large
// inputs: glibc's heap on transparent huge pages, and freed memory kept for reuse rather than
// handed back (GLIBC_TUNABLES, kLargeInputHeap in the .cpp); returns when it does not. Why: on
// virtual machines the first touch of each fresh page costs more than reading and evaluating a
// 100k-tensor dump itself, and glibc reads these settings only from the environment at
// start-up. Nothing is done when no argument names an input of 4 MiB or more (a file, or `-` on
// a pipe or a large file: starting again would cost more than it saves, and `--version` or
// shell completion stay one start), when GLIBC_TUNABLES is already set, when
// TAXON_HUGE_PAGES=0, when the kernel's transparent huge pages are off, or under a sanitizer.
void relaunch_with_huge_page_heap(char** argv);

}  // namespace taxon::cli
