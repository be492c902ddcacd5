// The command line's heap on transparent huge pages (docs/performance.md).
#pragma once

namespace taxon::cli {

// Where glibc and the kernel allow it, sets this process's heap up for a large input: glibc's
// heap on transparent huge pages, and freed memory kept for reuse rather than handed back.
// Why: on virtual machines the first touch of each fresh 4 KiB page costs more than reading and
// evaluating a 100k-tensor dump itself. To be called first thing in main, before any thread
// starts. Nothing is done when no argument names an input of 4 MiB or more (a file, or `-` on a
// pipe or a large file), when GLIBC_TUNABLES is set (the user's settings stand), when
// TAXON_HUGE_PAGES=0, when the kernel's transparent huge pages are off, or under a sanitizer.
void prepare_heap_for_large_input(char** argv);

}  // namespace taxon::cli
