"""Makes the BEiT-shaped tables of tests/golden/actions/beit_*.golden: a checkpoint at 224 px
(pos_embed (1, 197, 8) = 1 class token + 14x14 patches; a relative-position-bias table of
27x27 + 3 = 732 rows: BEiT keeps 3 extra rows last) and a model dump of the same model at 384 px
(577 = 1 + 24x24 tokens; 47x47 + 3 = 2212 rows). Shapes as timm's beit_base_patch16_224/384, with
8 channels and 2 heads instead of 768 and 12 so the files stay small.

Run with Debian's python3 (it has torch): /usr/bin/python3 tests/data/beit_tables/make_tables.py
"""
import json
import os
import struct

import torch

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
tensors = {
    "pos_embed": torch.randn(1, 197, 8),
    "blocks.0.attn.relative_position_bias_table": torch.randn(27 * 27 + 3, 2),
    "head.weight": torch.randn(10, 8),
}

# safetensors, written by hand (Debian ships no safetensors package): header length, JSON, data.
header, offset, blobs = {}, 0, []
for name, tensor in tensors.items():
    data = tensor.contiguous().numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
    blobs.append(data)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(os.path.join(here, "beit_224.safetensors"), "wb") as out:
    out.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

dump = {
    "format": "model-dump/1",
    "model": "Beit (384 px, 8 channels, 2 heads)",
    "tensors": [
        {"name": "pos_embed", "shape": [1, 577, 8], "dtype": "float32", "kind": "parameter"},
        {"name": "blocks.0.attn.relative_position_bias_table", "shape": [47 * 47 + 3, 2], "dtype": "float32",
         "kind": "parameter"},
        {"name": "head.weight", "shape": [10, 8], "dtype": "float32", "kind": "parameter"},
    ],
}
with open(os.path.join(here, "beit_384.json"), "w") as out:
    json.dump(dump, out, indent=1)
    out.write("\n")
