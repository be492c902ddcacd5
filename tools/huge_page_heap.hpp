// The command line's heap on transparent huge pages (docs/performance.md).
#pragma once

namespace taxon::cli {

// Where glibc and the kernel allow it, starts this program again, once, with glibc's heap on
// transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1); returns when it does not.
// Why: on virtual machines the first touch of each fresh 4 KiB page costs more than reading
// and evaluating a 100k-tensor dump itself (`taxon eval` on 92k tensors: 0.40 s, 0.15 s with
// huge pages), and glibc reads that setting only from the environment at start-up. Nothing is
// done when no argument names an input of 4 MiB or more (a file, or `-` on a pipe or a large
// file: starting again would cost more than it saves, and `--version` or shell completion stay
// one start), when GLIBC_TUNABLES is already set, when TAXON_HUGE_PAGES=0, when the kernel's
// transparent huge pages are off, or under a sanitizer.
void relaunch_with_huge_page_heap(char** argv);

}  // namespace taxon::cli
