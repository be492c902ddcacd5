#!/usr/bin/env bash
# `taxon completion SHELL` in the shell itself: the script loads, and completing a command, an
# option, a --format value and `apply --plan` (the plans of a rule file whose path has a space,
# asked of taxon at completion time) offers exactly what it should.
#   completion_test.sh TAXON SOURCE_DIR SHELL      SHELL: bash | zsh | fish
# Exits 77 (skipped) when SHELL is not installed; any wrong answer fails.
set -uo pipefail
taxon=$1
source=$2
shell=$3
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
command -v "$shell" >/dev/null || skip "$shell is not installed"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The scripts call `taxon __complete` back: the taxon under test comes first on PATH.
mkdir "$scratch/bin"
ln -s "$(realpath "$taxon")" "$scratch/bin/taxon"
export PATH="$scratch/bin:$PATH"
script=$scratch/taxon.$shell
taxon completion "$shell" > "$script" || fail "taxon completion $shell exited $?"

rules="$scratch/my rules.tx"
cp "$source/tests/data/plans/adapt.tx" "$rules"
plans=$(sed -n 's/^plan \([A-Za-z0-9_]*\) {.*/\1/p' "$rules" | sort)
[[ $(wc -l <<< "$plans") -gt 1 ]] || fail "the test's rule file declares fewer than two plans"

# expect WHAT ACTUAL EXPECTED: the candidates offered (sorted, one per line) are exactly those.
expect() {
  [[ $2 == "$3" ]] || fail "$1: offered
$2
expected
$3"
  echo "ok: $1"
}

# The cases zsh and fish share, through their complete_line LINE (defined per shell below).
expect_line_cases() {
    expect "taxon ev<TAB>" "$(complete_line 'taxon ev')" "eval"
    expect "taxon eval --fo<TAB>" "$(complete_line 'taxon eval --fo')" "--format"
    expect "taxon eval --format <TAB>" "$(complete_line 'taxon eval --format ')" "$(printf 'json\ntext')"
    expect "taxon apply 'my rules.tx' --plan <TAB>" "$(complete_line "taxon apply '$rules' --plan ")" "$plans"
    expect "taxon apply prefixes --plan unwrap_d<TAB> (a stdlib preset's plans)" \
      "$(complete_line 'taxon apply prefixes --plan unwrap_d')" "unwrap_ddp"
    expect "taxon eval timm/layer_d<TAB> (a stdlib preset)" "$(complete_line 'taxon eval timm/layer_d')" "timm/layer_decay"
    expect "taxon completion <TAB>" "$(complete_line 'taxon completion ')" "$(printf 'bash\nfish\nzsh')"
}

case $shell in
  bash)
    # Completes WORD... (the last one being completed) as bash does: COMP_WORDS holds the words as
    # typed, quotes included, and bash splits `--format=` into `--format` and `=`.
    complete_line() {
      bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=(taxon "$@")
        COMP_CWORD=$#
        _taxon || exit 1
        ((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}"
        exit 0' _ "$script" "$@" | sort
    }
    bash --norc --noprofile -c 'source "$1" && complete -p taxon' _ "$script" > /dev/null ||
      fail "sourcing the script does not register a completion for taxon"
    echo "ok: complete -p taxon"
    expect "taxon ev<TAB>" "$(complete_line ev)" "eval"
    expect "taxon eval --fo<TAB>" "$(complete_line eval --fo)" "--format"
    expect "taxon eval --format <TAB>" "$(complete_line eval --format '')" "$(printf 'json\ntext')"
    expect "taxon eval --format=<TAB>" "$(complete_line eval --format =)" "$(printf 'json\ntext')"
    expect "taxon apply 'my rules.tx' --plan <TAB>" "$(complete_line apply "'$rules'" --plan '')" "$plans"
    expect "taxon apply my\\ rules.tx --plan <TAB>" "$(complete_line apply "${rules// /\\ }" --plan '')" "$plans"
    expect "taxon apply 'my rules.tx' --plan vocab<TAB>" "$(complete_line apply "'$rules'" --plan vocab)" \
      "$(grep '^vocab' <<< "$plans")"
    expect "taxon apply prefixes --plan unwrap_d<TAB> (a stdlib preset's plans)" \
      "$(complete_line apply prefixes --plan unwrap_d)" "unwrap_ddp"
    expect "taxon eval timm/layer_d<TAB> (a stdlib preset)" "$(complete_line eval timm/layer_d)" "timm/layer_decay"
    expect "taxon eval my\\ ru<TAB> (a file name)" "$(complete_line eval "${scratch// /\\ }/my\\ ru")" "$rules"
    expect "taxon completion <TAB>" "$(complete_line completion '')" "$(printf 'bash\nfish\nzsh')"
    expect "taxon --color never ev<TAB> (taxon's own option and its value stepped over)" \
      "$(complete_line --color never ev)" "eval"
    ;;

  zsh)
    mkdir "$scratch/zfunc"
    cp "$script" "$scratch/zfunc/_taxon"
    zsh -n "$script" || fail "zsh finds the script's syntax wrong"
    # compinit finds _taxon by its #compdef line; +X loads its definition, which parses it.
    errors=$(zsh -f -c '
      autoload -Uz compinit
      fpath=("$1" $fpath)
      compinit -u -d "$2/zcompdump" || exit 1
      [[ -n ${_comps[taxon]} ]] || { print -u2 "compinit did not register a completion for taxon"; exit 1 }
      print -u2 -r -- "_comps[taxon] = ${_comps[taxon]}"
      autoload +X _taxon' _ "$scratch/zfunc" "$scratch" 2>&1) || fail "$errors"
    [[ $errors == "_comps[taxon] = _taxon" ]] || fail "compinit did not load the script cleanly: $errors"
    echo "ok: compinit registers _taxon"

    # Then completion itself, in an interactive zsh in a pseudo-terminal (zpty): LINE and a TAB are
    # typed, and every match the completion functions add (compadd, wrapped) is written down.
    cat > "$scratch/complete.zsh" <<'ZSH'
zmodload zsh/zpty || exit 1
local fpath_dir=$1 scratch=$2 line=$3
zpty z zsh -f -i || exit 1
zpty -w z "capture=${(q)scratch}/matches; PS1='> '; fpath=(${(q)fpath_dir} \$fpath)"
# The calls that only filter or collect words (-O -A -D) are passed through unrecorded.
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"; (( $#hits )) && print -rl -- $hits >> $capture; builtin compadd "$@" }'
zpty -w z "autoload -Uz compinit; compinit -u -d ${(q)scratch}/zcompdump; echo READY-\$((20+1))"
# Keys typed before the line editor starts are not completed: each step waits for the prompt.
zpty -r z out '*READY-21*> ' || exit 1
: > $scratch/matches
zpty -w -n z "$line"$'\t'
zpty -w z $'\C-e\C-u'"echo DONE-\$((20+2))"
zpty -r z out '*DONE-22*> ' || exit 1
zpty -d z
sort -u $scratch/matches
ZSH
    complete_line() {  # LINE
      timeout 60 zsh -f "$scratch/complete.zsh" "$scratch/zfunc" "$scratch" "$1" || echo "(zsh exited $?)"
    }
    expect_line_cases
    ;;

  fish)
    complete_line() {  # LINE: what `complete -C` offers for it, names only
      fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' "$script" "$1" | cut -f1 | sort
    }
    fish --no-config -c 'source $argv[1]' "$script" || fail "fish cannot source the script"
    expect_line_cases
    expect "taxon --color never ev<TAB> (taxon's own option and its value stepped over)" \
      "$(complete_line 'taxon --color never ev')" "eval"
    ;;

  *)
    fail "unknown shell '$shell' (bash, zsh or fish)"
    ;;
esac
