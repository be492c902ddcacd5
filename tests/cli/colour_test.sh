#!/bin/sh
# --color auto on a real terminal: colour unless NO_COLOR is set (https://no-color.org), never when
# piped. `script` (util-linux) gives the command a pseudo-terminal. Skips (77) without it.
taxon="$1"
root="$2"
command -v script > /dev/null || { echo "no script(1): skipped"; exit 77; }
rules="$root/tests/data/rules/linnaeus/errors/dedented_filter.yaml"
esc=$(printf '\033')
fail=0
on_tty=$(script -qec "$taxon lint $rules" /dev/null)
case "$on_tty" in *"$esc[1;31merror"*) ;; *) echo "FAIL: no colour on a terminal"; fail=1 ;; esac
no_colour=$(NO_COLOR=1 script -qec "$taxon lint $rules" /dev/null)
case "$no_colour" in *"$esc"*) echo "FAIL: NO_COLOR=1 still coloured"; fail=1 ;; esac
forced=$(NO_COLOR=1 script -qec "$taxon lint $rules --color always" /dev/null)
case "$forced" in *"$esc[1;31merror"*) ;; *) echo "FAIL: --color always lost to NO_COLOR"; fail=1 ;; esac
piped=$("$taxon" lint "$rules" 2>&1)
case "$piped" in *"$esc"*) echo "FAIL: coloured into a pipe"; fail=1 ;; esac
[ "$fail" = 0 ] && echo "colour: terminal, NO_COLOR, --color always and pipe all as expected"
exit "$fail"
