"""What the generators that run timm share (tests/data/*/make_*expected.py): the commit of the
timm checkout they import, for the data they write to record."""
import os
import subprocess


def timm_commit(checkout):
    """The commit of the checkout: its own git, else the git dir named by TIMM_GIT_DIR."""
    for args in (["git", "-C", checkout, "rev-parse", "HEAD"],
                 ["git", "--git-dir", os.environ.get("TIMM_GIT_DIR", ""), "rev-parse", "HEAD"]):
        if "--git-dir" in args and not args[2]:
            continue
        out = subprocess.run(args, capture_output=True, text=True)
        commit = out.stdout.strip()
        if out.returncode == 0 and len(commit) == 40:
            return commit
    raise SystemExit(f"no commit for {checkout}: give it a .git or set TIMM_GIT_DIR")
