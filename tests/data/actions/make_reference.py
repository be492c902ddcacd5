"""Reference values for the tensor actions, computed by PyTorch itself.

Run once with Debian's PyTorch (/usr/bin/python3 with python3-torch) from this folder:
    /usr/bin/python3 make_reference.py
It writes reference.safetensors (inputs `<case>.in`, expected outputs `<case>.out`) and
cases.json (each case's action and options). The committed files are the values; the tests
do not need PyTorch.
"""
import json
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(0)
tensors, cases = {}, []


def rel_pos_bias(table, new_rows, extra=0, trailing=False, mode="bicubic"):
    rows = table.shape[0] - extra
    extra_part = table[rows:] if trailing else table[:extra]
    grid = table[:rows] if trailing else table[extra:]
    s, t = int(rows ** 0.5), int((new_rows - extra) ** 0.5)
    g = grid.reshape(s, s, -1).permute(2, 0, 1).unsqueeze(0)
    g = F.interpolate(g, size=(t, t), mode=mode, align_corners=False)
    g = g.squeeze(0).permute(1, 2, 0).reshape(t * t, -1)
    return torch.cat([g, extra_part]) if trailing else torch.cat([extra_part, g])


def pos_embed(embed, new_tokens, prefix, grid, target_grid, mode="bicubic", antialias=False):
    h, w = grid
    H, W = target_grid
    g = embed[:, prefix:].reshape(1, h, w, -1).permute(0, 3, 1, 2)
    g = F.interpolate(g, size=(H, W), mode=mode, align_corners=False if mode != "nearest" else None, antialias=antialias)
    return torch.cat([embed[:, :prefix], g.permute(0, 2, 3, 1).reshape(1, H * W, -1)], dim=1)


def case(name, action, options, x, y):
    tensors[f"{name}.in"] = x.contiguous()
    tensors[f"{name}.out"] = y.contiguous()
    cases.append({"name": name, "action": action, "options": options})


t = torch.randn(49, 3)
case("swin_window_4_to_8", "rel_pos_bias", {"mode": "bicubic"}, t, rel_pos_bias(t, 225))
t = torch.randn(1 + 169, 4)
case("linnaeus_class_row_7_to_14", "rel_pos_bias", {"extra_rows": 1}, t, rel_pos_bias(t, 1 + 729, extra=1))
t = torch.randn(169 + 3, 4)
case("beit_trailing_3_7_to_12", "rel_pos_bias", {"extra_rows": 3, "extra_position": "trailing"}, t,
     rel_pos_bias(t, 529 + 3, extra=3, trailing=True))
t = torch.randn(225, 2)
case("rel_pos_bias_bilinear_shrink", "rel_pos_bias", {"mode": "bilinear"}, t, rel_pos_bias(t, 49, mode="bilinear"))
t = torch.randn(1, 1 + 16, 8)
case("vit_grid_4_to_6", "pos_embed", {"prefix_tokens": 1}, t, pos_embed(t, 37, 1, (4, 4), (6, 6)))
t = torch.randn(1, 2 + 12, 8)
case("non_square_3x4_to_6x8_bilinear", "pos_embed", {"prefix_tokens": 2, "grid": [3, 4], "target_grid": [6, 8], "mode": "bilinear"},
     t, pos_embed(t, 2 + 48, 2, (3, 4), (6, 8), mode="bilinear"))
t = torch.randn(1, 1 + 64, 8)
case("antialias_8_to_4", "pos_embed", {"prefix_tokens": 1, "antialias": True}, t,
     pos_embed(t, 17, 1, (8, 8), (4, 4), antialias=True))
t = torch.randn(1, 16, 6)
case("nearest_no_prefix", "pos_embed", {"mode": "nearest"}, t, pos_embed(t, 64, 0, (4, 4), (8, 8), mode="nearest"))
t = torch.randn(5, 7)
case("cast_bf16", "cast", {"to": "bfloat16"}, t, t.to(torch.bfloat16))
case("cast_fp16", "cast", {"to": "float16"}, t, t.to(torch.float16))
t = torch.randn(6, 5).to(torch.bfloat16)
case("rows_mean_bf16", "rows", {"init": "mean"}, t,
     torch.cat([t, t.float().mean(0, keepdim=True).expand(2, -1).to(torch.bfloat16)]))
t = torch.randn(6, 5)
g = torch.Generator().manual_seed(3)
case("rows_normal_seed_3", "rows", {"init": "normal", "std": 0.5, "seed": 3}, t,
     torch.cat([t, torch.empty(4, 5).normal_(0, 0.5, generator=g)]))
case("rows_truncate", "rows", {}, t, t[:4])

codes = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
header, blobs, offset = {}, [], 0
for name, tensor in tensors.items():
    data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
    header[name] = {"dtype": codes[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open("reference.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
with open("cases.json", "w") as f:
    json.dump({"generator": "make_reference.py", "torch": torch.__version__, "cases": cases}, f, indent=1)
print(len(cases), "cases")
