#!/usr/bin/python3
"""Writes expected.json: how huggingface_hub itself splits synthetic state dicts into shards.

    /usr/bin/python3 tests/data/sharding/make_expected.py HUGGINGFACE_HUB_CHECKOUT [OUT]

Runs huggingface_hub's own split_state_dict_into_shards_factory and parse_size_to_int
(src/huggingface_hub/serialization/_base.py: pure Python, no torch) on the cases below, with
stand-in tensors whose storage size and storage id are given, as split_torch_state_dict_into_shards
would get them from get_torch_storage_size and get_torch_storage_id. The file is imported by
path with its one import (`from .. import logging`) stubbed. The output records the commit it
came from; tests/runtime/sharded_checkpoint_test.cpp checks taxon's plan_shards and
parse_shard_size against it.
"""
import importlib.util
import json
import logging
import os
import subprocess
import sys
import types


def load_base(checkout):
    path = os.path.join(checkout, "src", "huggingface_hub", "serialization", "_base.py")
    package = types.ModuleType("huggingface_hub")
    package.__path__ = []
    hub_logging = types.ModuleType("huggingface_hub.logging")
    hub_logging.get_logger = logging.getLogger
    package.logging = hub_logging
    serialization = types.ModuleType("huggingface_hub.serialization")
    serialization.__path__ = []
    sys.modules.update({"huggingface_hub": package, "huggingface_hub.logging": hub_logging,
                        "huggingface_hub.serialization": serialization})
    spec = importlib.util.spec_from_file_location("huggingface_hub.serialization._base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Tensor:
    """What the splitter asks of a tensor: its storage's size, and which storage it is."""

    def __init__(self, size, storage):
        self.size, self.storage = size, storage


def case(name, file_name, max_shard_size, tensors):
    """tensors: [name, storage size] or [name, storage size, storage id] (ids shared = one storage)."""
    return {"name": name, "file_name": file_name, "max_shard_size": max_shard_size,
            "tensors": [{"name": t[0], "size": t[1], "storage": t[2] if len(t) > 2 else None} for t in tensors]}


def moe(layers, experts, size):
    names = ["model.embed_tokens.weight"]
    for layer in range(layers):
        names += [f"model.layers.{layer}.self_attn.{p}.weight" for p in ("q_proj", "k_proj", "v_proj", "o_proj")]
        names += [f"model.layers.{layer}.input_layernorm.weight", f"model.layers.{layer}.mlp.gate.weight"]
        names += [f"model.layers.{layer}.mlp.experts.{e}.{p}.weight" for e in range(experts)
                  for p in ("gate_proj", "up_proj", "down_proj")]
    names += ["model.norm.weight", "lm_head.weight"]
    return [[n, size * (1 + i % 3)] for i, n in enumerate(names)]


GB = 10**9
CASES = [
    # huggingface_hub's docstring: [6GB, 6GB, 2GB, 6GB, 2GB, 2GB] under 10GB -> [6], [6+2], [6+2+2].
    case("docstring", "model.safetensors", "10GB",
         [["a", 6 * GB], ["b", 6 * GB], ["c", 2 * GB], ["d", 6 * GB], ["e", 2 * GB], ["f", 2 * GB]]),
    # A tensor over the maximum gets its own shard, before the shard being filled.
    case("too_big_in_the_middle", "model.safetensors", 8, [["a", 3], ["b", 10], ["c", 3], ["d", 3]]),
    case("too_big_first_and_last", "model.safetensors", 8, [["a", 9], ["b", 2], ["c", 9]]),
    case("exactly_full", "model.safetensors", 8, [["a", 4], ["b", 4], ["c", 4], ["d", 4], ["e", 1]]),
    case("fits_in_one", "model.safetensors", "1KB", [["a", 100], ["b", 200], ["c", 300]]),
    case("empty_tensors", "model.safetensors", 4, [["a", 0], ["b", 4], ["c", 0], ["d", 1], ["e", 0]]),
    case("twelve_shards", "model.safetensors", 10, [[f"t{i}", 7] for i in range(12)]),
    case("torch_bin", "pytorch_model.bin", "1KB", [[f"w{i}", 300] for i in range(7)]),
    # Ties (one storage under several names): counted once, placed with the first, after the rest of its shard.
    case("ties", "pytorch_model.bin", 10,
         [["embed", 6, "s0"], ["a", 3, "s1"], ["b", 3, "s2"], ["head", 6, "s0"], ["c", 5, "s3"], ["tail", 6, "s0"]]),
    case("tie_to_a_big_tensor", "pytorch_model.bin", 10,
         [["a", 4, "s0"], ["big", 20, "s1"], ["b", 4, "s2"], ["big_alias", 20, "s1"], ["c", 4, "s3"]]),
    case("small_moe", "model.safetensors", "2KB", moe(2, 4, 64)),
]
SIZES = ["5GB", "500MB", "10KB", "1TB", "1.5GB", "4.35MB", "2.01KB", "2.01GB", "0.3KB", "5gb", "5Gb", " 5 GB ", "2.5 mb",
         "0.001KB"]


def main():
    checkout = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json")
    base = load_base(checkout)
    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    if not commit:  # a bare mirror
        commit = subprocess.run(["git", "--git-dir", checkout, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    results = []
    for c in CASES:
        state_dict = {t["name"]: Tensor(t["size"], t["storage"]) for t in c["tensors"]}
        pattern = c["file_name"].replace(".safetensors", "{suffix}.safetensors").replace(".bin", "{suffix}.bin")
        split = base.split_state_dict_into_shards_factory(
            state_dict, get_storage_size=lambda t: t.size, get_storage_id=lambda t: t.storage,
            filename_pattern=pattern, max_shard_size=c["max_shard_size"])
        max_bytes = c["max_shard_size"] if isinstance(c["max_shard_size"], int) else base.parse_size_to_int(c["max_shard_size"])
        results.append(dict(c, max_shard_bytes=max_bytes, is_sharded=split.is_sharded,
                            total_size=split.metadata["total_size"],
                            files=[[f, names] for f, names in split.filename_to_tensors.items()]))
    sizes = [{"text": s, "bytes": base.parse_size_to_int(s)} for s in SIZES]
    with open(out, "w") as f:
        json.dump({"generator": "tests/data/sharding/make_expected.py",
                   "huggingface_hub": {"commit": commit, "file": "src/huggingface_hub/serialization/_base.py"},
                   "cases": results, "sizes": sizes}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
