#!/usr/bin/python3
"""Writes bin_shards/: a Hugging Face sharded .bin checkpoint, laid out as transformers'
save_pretrained(safe_serialization=False) lays it out, made by hand with Debian's torch 1.13
(transformers is not installed):

    pytorch_model-00001-of-00002.bin, pytorch_model-00002-of-00002.bin  torch.save of a dict each
    pytorch_model.bin.index.json  {"metadata": {"total_size": N}, "weight_map": {...}},
                                  json.dumps(indent=2, sort_keys=True) + "\\n"

and bin_shards_expected.json: every tensor's shape, dtype and the sha256 of its bytes in
row-major order, and which tensors share a storage. The split is huggingface_hub's for a 1KB
maximum (embed and lm_head are one storage, a tie, as in a model with tied embeddings).

    /usr/bin/python3 tests/data/sharding/make_bin_shards.py
"""
import collections
import hashlib
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bin_shards")


def main():
    torch.manual_seed(0)
    embed = torch.randn(8, 16)
    state = collections.OrderedDict()
    state["model.embed_tokens.weight"] = embed
    for layer in range(2):
        state[f"model.layers.{layer}.self_attn.q_proj.weight"] = torch.randn(4, 16)
        state[f"model.layers.{layer}.mlp.up_proj.weight"] = torch.randn(4, 16).half()
        state[f"model.layers.{layer}.input_layernorm.weight"] = torch.ones(16)
        state[f"model.layers.{layer}.step"] = torch.tensor([layer], dtype=torch.int64)
    state["model.norm.weight"] = torch.ones(16)
    state["lm_head.weight"] = embed  # tied: the same storage
    # huggingface_hub's split for max_shard_size="1KB" (storages counted once, ties with the first).
    shards = [["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight",
               "model.layers.0.input_layernorm.weight", "model.layers.0.step", "lm_head.weight"],
              ["model.layers.1.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight",
               "model.layers.1.input_layernorm.weight", "model.layers.1.step", "model.norm.weight"]]
    assert sorted(sum(shards, [])) == sorted(state)
    os.makedirs(OUT, exist_ok=True)
    weight_map, storages = {}, set()
    total = 0
    for i, names in enumerate(shards):
        file = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save(collections.OrderedDict((n, state[n]) for n in names), os.path.join(OUT, file))
        for n in names:
            weight_map[n] = file
            storage = state[n].storage().data_ptr()
            if storage not in storages:
                storages.add(storage)
                total += state[n].storage().size() * state[n].element_size()
    with open(os.path.join(OUT, "pytorch_model.bin.index.json"), "w") as f:
        f.write(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")
    expected = {"total_size": total, "ties": [["lm_head.weight", "model.embed_tokens.weight"]], "tensors": {}}
    for name, tensor in state.items():
        expected["tensors"][name] = {"shape": list(tensor.shape), "dtype": str(tensor.dtype).replace("torch.", ""),
                                     "sha256": hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()}
    with open(os.path.join(HERE, "bin_shards_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
