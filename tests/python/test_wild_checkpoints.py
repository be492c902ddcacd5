"""Checkpoints from the wild (issue 15): taxon reads them, and what it writes loads back equal.

The fixtures are tests/data/wild/*.{ckpt,pth,pt}, written with expected.json by
tests/data/wild/make_wild_checkpoints.py. Run with Debian's python3 (torch 1.13, numpy, omegaconf):
    TAXON=build/tools/taxon /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python/test_wild_checkpoints.py
The taxon binary is $TAXON, else build/tools/taxon under the project root. Without torch, numpy or
omegaconf every test is skipped.

THE CLI BEHAVIOUR THIS FILE ASSUMES (the C++ of issue 15 must match it, or this header changes):
  1. `taxon dump CKPT` exits 0 on every fixture; its JSON has a top-level key "objects": a list,
     empty when there are none, of {"path", "class", "tensors"} for each OPAQUE object (a class
     that is not data), outermost only, in pickle order. path: dict keys joined by ".", list and
     tuple indices as "[i]" ("hyper_parameters.data_indices", "callbacks[1]"); class:
     "module.QualName"; tensors: how many tensors sit inside it. "tensors" lists the state dict's
     tensors as before (name, shape, dtype).
  2. `taxon apply tests/data/wild/plans.tx CKPT --plan NAME -o OUT.pt` exits 0 and LEAVES OUT each
     opaque object: the dict entry holding it is absent from OUT.pt (keys from the root up to the
     first list index: an object at "callbacks[1]" takes the whole "callbacks" entry with it), and
     stderr has a line starting with "note:" that names it (its path or that entry). Every other
     entry, data classes included, comes back equal and of the same type.
  3. With `--keep-objects` the opaque objects are written back too, and torch.load (with
     tests/data/wild on sys.path, so `wildclasses` imports) returns objects equal to the originals.
  4. `-o OUT.safetensors`: the header's "__metadata__" has "taxon.left_out", the top-level entries
     the file cannot hold (every one but the state dict's), comma-separated (like taxon.sources).
Registered in tests/CMakeLists.txt, for example (no cache provider and no bytecode, so that pytest
leaves nothing in the source tree):
    add_test(NAME "python: checkpoints from the wild" COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider
             ${CMAKE_CURRENT_SOURCE_DIR}/python/test_wild_checkpoints.py)
    set_tests_properties("python: checkpoints from the wild" PROPERTIES
                         ENVIRONMENT "TAXON=$<TARGET_FILE:taxon>;PYTHONDONTWRITEBYTECODE=1")
"""
import argparse
import collections
import datetime
import json
import math
import os
import pathlib
import struct
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")
omegaconf = pytest.importorskip("omegaconf")
from omegaconf import DictConfig, ListConfig, OmegaConf  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
WILD = ROOT / "tests" / "data" / "wild"
PLANS = WILD / "plans.tx"
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(WILD))  # torch.load imports wildclasses for the opaque objects
EXPECTED = json.loads((WILD / "expected.json").read_text())
FIXTURES = sorted(EXPECTED["files"])
KEEP_OBJECTS = "--keep-objects"
SAFETENSORS_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
                      "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "complex64": "C64"}


def taxon_binary():
    binary = os.environ.get("TAXON") or str(ROOT / "build" / "tools" / "taxon")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"no taxon binary at {binary} (set TAXON)")
    return binary


def taxon(*args):
    return subprocess.run([taxon_binary(), *map(str, args)], capture_output=True, text=True, timeout=120)


def load(path):
    return torch.load(path, weights_only=False)


def apply(plan, fixture, out, *flags):
    result = taxon("apply", PLANS, WILD / fixture, "--plan", plan, "-o", out, *flags)
    assert result.returncode == 0, f"taxon apply exited {result.returncode}:\n{result.stderr}"
    return result


# ---- what the output must hold ----------------------------------------------------------------------
def path_parts(path):
    """'a.b[1].c' -> ['a', 'b', 1, 'c']."""
    parts = []
    for piece in path.split("."):
        name, *indices = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(index.rstrip("]")) for index in indices)
    return parts


def entry_of(path):
    """The dict entry a .pt output leaves out for an opaque object: keys up to the first index."""
    entry = []
    for part in path_parts(path):
        if isinstance(part, int):
            break
        entry.append(part)
    return entry


def without(root, entries):
    """A copy of root without the given dict entries (only the dicts along each entry are copied)."""
    def drop(node, entry):
        node = type(node)(node) if not isinstance(node, collections.defaultdict) else node.copy()
        if len(entry) == 1:
            del node[entry[0]]
        else:
            node[entry[0]] = drop(node[entry[0]], entry[1:])
        return node
    for entry in entries:
        root = drop(root, entry)
    return root


def check_parents(config):
    """omegaconf nodes point back at their container (_parent): a reader that broke the cycle
    would load a config whose interpolations no longer resolve."""
    keys = range(len(config)) if isinstance(config, ListConfig) else config.keys()
    for key in keys:
        node = config._get_node(key)
        assert node._get_parent() is config, f"{key}: its _parent is not its container"
        if isinstance(node, (DictConfig, ListConfig)):
            check_parents(node)


def assert_same(got, want, where="root"):
    """Deep equality that also requires the same types (numpy dtypes, byte order and layout, deque's
    maxlen, defaultdict's factory, datetime's tzinfo)."""
    assert type(got) is type(want), f"{where}: {type(got).__name__}, not {type(want).__name__}"
    if isinstance(want, torch.Tensor):
        assert got.dtype == want.dtype and got.shape == want.shape, f"{where}: {got.dtype}{list(got.shape)}"
        assert torch.equal(got, want), f"{where}: the values differ"
    elif isinstance(want, np.ndarray):
        assert got.dtype.str == want.dtype.str and got.shape == want.shape, f"{where}: {got.dtype.str}{got.shape}"
        assert got.flags.f_contiguous == want.flags.f_contiguous and got.flags.c_contiguous == want.flags.c_contiguous, \
            f"{where}: the memory order differs"
        if want.dtype.hasobject:
            for i, (a, b) in enumerate(zip(got.ravel(), want.ravel())):
                assert_same(a, b, f"{where}[{i}]")
        else:
            assert np.array_equal(got, want), f"{where}: the values differ"
    elif isinstance(want, np.dtype):
        assert got == want and got.str == want.str, f"{where}: {got.str}, not {want.str}"
    elif isinstance(want, np.generic):
        assert got.dtype.str == want.dtype.str and got.tobytes() == want.tobytes(), f"{where}: {got!r}, not {want!r}"
    elif isinstance(want, (DictConfig, ListConfig)):
        assert got == want, f"{where}: the configs differ"
        assert OmegaConf.to_container(got, resolve=False) == OmegaConf.to_container(want, resolve=False), where
        assert OmegaConf.to_container(got, resolve=True) == OmegaConf.to_container(want, resolve=True), where
        check_parents(got)
    elif isinstance(want, dict):
        assert list(got.keys()) == list(want.keys()), f"{where}: keys {list(got.keys())}, not {list(want.keys())}"
        if isinstance(want, collections.defaultdict):
            assert got.default_factory is want.default_factory, f"{where}: default_factory {got.default_factory}"
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, argparse.Namespace):
        assert_same(vars(got), vars(want), where)
    elif isinstance(want, collections.deque):
        assert got.maxlen == want.maxlen, f"{where}: maxlen {got.maxlen}, not {want.maxlen}"
        assert_same(list(got), list(want), where)
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: {len(got)} items, not {len(want)}"
        for i, (a, b) in enumerate(zip(got, want)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(want, (datetime.datetime, datetime.time)):
        assert got == want and got.tzinfo == want.tzinfo, f"{where}: {got!r}, not {want!r}"
        assert got.tzname() == want.tzname() and got.utcoffset() == want.utcoffset(), where
    elif isinstance(want, slice):
        assert (got.start, got.stop, got.step) == (want.start, want.stop, want.step), f"{where}: {got}"
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    elif isinstance(want, type):
        assert got is want, f"{where}: {got}, not {want}"
    else:  # numbers, strings, bytes, bytearray, sets, paths, dates, timedeltas, timezones, wildclasses' objects
        assert got == want, f"{where}: {got!r}, not {want!r}"


def assert_named_in_notes(stderr, objects):
    notes = [line for line in stderr.splitlines() if line.startswith("note:")]
    for obj in objects:
        names = {obj["path"], ".".join(entry_of(obj["path"]))}
        assert any(name in note for note in notes for name in names), \
            f"no note names the object left out at {obj['path']}:\n{stderr}"


# ---- the fixtures are what expected.json says (no taxon needed) ------------------------------------
@pytest.mark.parametrize("fixture", FIXTURES)
def test_fixture_matches_expected(fixture):
    expected, root = EXPECTED["files"][fixture], load(WILD / fixture)
    assert list(root.keys()) == expected["top_level"]
    state = root[expected["state_dict"]]
    assert [[k, list(t.shape), str(t.dtype).removeprefix("torch.")] for k, t in state.items()] == \
        [[t["name"], t["shape"], t["dtype"]] for t in expected["tensors"]]
    for obj in expected["objects"]:
        node = root
        for part in path_parts(obj["path"]):
            node = node[part]
        assert f"{type(node).__module__}.{type(node).__qualname__}" == obj["class"]


# ---- taxon dump --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", FIXTURES)
def test_dump(fixture):
    expected = EXPECTED["files"][fixture]
    result = taxon("dump", WILD / fixture)
    assert result.returncode == 0, f"taxon dump exited {result.returncode}:\n{result.stderr}"
    dump = json.loads(result.stdout)
    assert [[t["name"], t["shape"], t["dtype"]] for t in dump["tensors"]] == \
        [[t["name"], t["shape"], t["dtype"]] for t in expected["tensors"]]
    assert "objects" in dump, "the dump has no 'objects' list"
    assert [{k: o[k] for k in ("path", "class", "tensors")} for o in dump["objects"]] == expected["objects"]


# ---- taxon apply -o .pt --------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", FIXTURES)
def test_apply_keep_leaves_objects_out(fixture, tmp_path):
    expected = EXPECTED["files"][fixture]
    result = apply("keep", fixture, tmp_path / "out.pt")
    original = load(WILD / fixture)
    want = without(original, [entry_of(o["path"]) for o in expected["objects"]])
    assert_same(load(tmp_path / "out.pt"), want)
    assert_named_in_notes(result.stderr, expected["objects"])


@pytest.mark.parametrize("fixture", FIXTURES)
def test_apply_keep_objects(fixture, tmp_path):
    apply("keep", fixture, tmp_path / "out.pt", KEEP_OBJECTS)
    assert_same(load(tmp_path / "out.pt"), load(WILD / fixture))


def test_apply_unwrap_lightning(tmp_path):
    """strip "model.": the state dict's keys change, the optimizer state stays (same positions)."""
    fixture = "lightning_hydra.ckpt"
    expected = EXPECTED["files"][fixture]
    apply("unwrap", fixture, tmp_path / "out.pt")
    original = load(WILD / fixture)
    want = without(original, [entry_of(o["path"]) for o in expected["objects"]])
    want["state_dict"] = collections.OrderedDict((k.removeprefix("model."), v) for k, v in original["state_dict"].items())
    assert all(k.startswith("model.") for k in original["state_dict"])
    assert_same(load(tmp_path / "out.pt"), want)


def test_apply_drop_head_research(tmp_path):
    """Dropping tensors leaves the optimizer out (it refers to parameters by position); args, the
    numpy best_acc1 and the scaler are kept."""
    fixture = "research.pth"
    result = apply("drop_head", fixture, tmp_path / "out.pt")
    original = load(WILD / fixture)
    want = without(original, [["optimizer"]])
    want["model"] = collections.OrderedDict((k, v) for k, v in original["model"].items() if not k.startswith("head."))
    assert_same(load(tmp_path / "out.pt"), want)
    assert any(line.startswith("note:") and "optimizer" in line for line in result.stderr.splitlines()), result.stderr


# ---- taxon apply -o .safetensors --------------------------------------------------------------------
def read_safetensors(path):
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    return header, raw[8 + length:]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_apply_safetensors_names_what_it_left_out(fixture, tmp_path):
    expected = EXPECTED["files"][fixture]
    apply("keep", fixture, tmp_path / "out.safetensors")
    header, data = read_safetensors(tmp_path / "out.safetensors")
    metadata = header.pop("__metadata__", {})
    assert "taxon.left_out" in metadata, f"no taxon.left_out in {metadata}"
    left_out = [name.strip() for name in metadata["taxon.left_out"].split(",") if name.strip()]
    assert sorted(left_out) == sorted(expected["safetensors_left_out"])
    state = load(WILD / fixture)[expected["state_dict"]]
    assert sorted(header) == sorted(t["name"] for t in expected["tensors"])
    for t in expected["tensors"]:
        entry = header[t["name"]]
        assert entry["dtype"] == SAFETENSORS_DTYPES[t["dtype"]] and entry["shape"] == t["shape"], t["name"]
        begin, end = entry["data_offsets"]
        assert data[begin:end] == state[t["name"]].contiguous().reshape(-1).view(torch.uint8).numpy().tobytes(), t["name"]


@pytest.mark.parametrize("name", ["model.safetensors", "pytorch_model.bin"])
def test_sharded_output_loads_back(name, tmp_path):
    """--max-shard-size: Hugging Face's layout, read back by taxon dump and by PyTorch (every shard, merged)."""
    fixture = "lightning_hydra.ckpt"
    expected = EXPECTED["files"][fixture]
    out = tmp_path / name
    apply("keep", fixture, out, "--max-shard-size", "40B")
    index = json.loads((tmp_path / (name + ".index.json")).read_text())
    shards = sorted(set(index["weight_map"].values()))
    stem, suffix = name.rsplit(".", 1)
    assert len(shards) > 1 and shards == [f"{stem}-{i:05d}-of-{len(shards):05d}.{suffix}" for i in range(1, len(shards) + 1)]
    assert not out.exists()  # several shards: no plain file
    state = load(WILD / fixture)[expected["state_dict"]]
    merged = {}
    for shard in shards:
        if suffix == "bin":
            part = load(tmp_path / shard)
        else:
            header, data = read_safetensors(tmp_path / shard)
            header.pop("__metadata__", None)
            part = {}
            for key, entry in header.items():
                begin, end = entry["data_offsets"]
                dtype = state[key].dtype
                part[key] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(entry["shape"])
        assert all(index["weight_map"][key] == shard for key in part)
        merged.update(part)
    assert sorted(merged) == sorted(state)
    for key, tensor in state.items():
        assert torch.equal(merged[key], tensor), key
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in state.values())
    dumped = taxon("dump", tmp_path / (name + ".index.json"))
    assert dumped.returncode == 0, dumped.stderr
    assert sorted(t["name"] for t in json.loads(dumped.stdout)["tensors"]) == sorted(state)
