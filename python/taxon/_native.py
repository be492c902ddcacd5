"""Finds the _taxon extension and tells it where the package's stdlib and actions library are."""
import os
import pathlib

_HERE = pathlib.Path(__file__).parent

# An installed package carries the stdlib presets and the tensor actions' library (LibTorch) next to
# the extension; a build tree's extension knows its own. The environment wins when set.
if (_HERE / "stdlib").is_dir():
    os.environ.setdefault("TAXON_STDLIB", str(_HERE / "stdlib"))
if (_HERE / "libtaxon_actions.so").is_file():
    os.environ.setdefault("TAXON_ACTIONS_LIBRARY", str(_HERE / "libtaxon_actions.so"))

from . import _taxon as engine  # noqa: E402

__all__ = ["engine"]
