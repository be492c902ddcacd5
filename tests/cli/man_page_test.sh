#!/usr/bin/env bash
# The manual page the build writes (tools/taxon.1, from `taxon __man`) renders without a warning
# from groff, at 80 columns, and has a section for every command `taxon --help` lists.
#   man_page_test.sh TAXON MAN_PAGE
# Exits 77 (skipped) when neither man nor groff is installed.
set -uo pipefail
taxon=$1
page=$2
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[[ -s $page ]] || fail "$page is missing or empty (the build writes it)"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Rendered to a pipe, so without bold or underlining; groff's warnings go to stderr.
if command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$page" > "$scratch/page.txt" 2> "$scratch/warnings" || fail "man exited $?"
elif command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -rLL=80n -P-cbou "$page" > "$scratch/page.txt" 2> "$scratch/warnings" || fail "groff exited $?"
else
  skip "neither man nor groff is installed"
fi
[[ ! -s $scratch/warnings ]] || fail "warnings rendering $page: $(cat "$scratch/warnings")"

for section in NAME SYNOPSIS DESCRIPTION ENVIRONMENT "EXIT STATUS"; do
  grep -qx "$section" "$scratch/page.txt" || fail "no $section section"
done
# The commands, as --help lists them under "Subcommands:".
commands=$("$taxon" --help | sed -n '/^Subcommands:/,/^$/{/^  /s/^  \([^ ]*\).*/\1/p}')
[[ -n $commands ]] || fail "taxon --help lists no commands"
for command in $commands; do
  grep -qx "TAXON ${command^^}" "$scratch/page.txt" || fail "no section for taxon $command"
  grep -q "^ *taxon $command" "$scratch/page.txt" || fail "no synopsis for taxon $command"
done
echo "ok: $(wc -l < "$scratch/page.txt") lines; sections for $(echo $commands)"
