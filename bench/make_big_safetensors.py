"""Writes a large safetensors file for bench/apply_bench.sh: COUNT tensors of
128 MiB each (random bytes), named like a model's layers, plus a small head.
Usage: make_big_safetensors.py OUT [COUNT]   (18 tensors = 2.25 GiB)"""
import json
import os
import struct
import sys

out, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 18
tensor_bytes = 128 << 20
header, offset = {"__metadata__": {"format": "pt"}}, 0
names = [f"layers.{i}.mlp.weight" for i in range(count)] + ["head.weight"]
for name in names:
    size = tensor_bytes if name != "head.weight" else 4096
    header[name] = {"dtype": "F32", "shape": [size // 4], "data_offsets": [offset, offset + size]}
    offset += size
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
block = os.urandom(1 << 20)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for name in names:
        size = header[name]["data_offsets"][1] - header[name]["data_offsets"][0]
        for _ in range(size // len(block)):
            f.write(block)
        f.write(block[: size % len(block)])
