"""beit_b16.json: BEiT-B/16 (224, patch 16) with timm's module names and classes, dumped by
tools/dump_model.py. timm is not packaged in Debian, so the modules below rebuild the layout of
timm's beit_base_patch16_224 (timm/models/beit.py): the same attribute names, registration order,
shapes and classes; no forward pass. Built on the meta device: nothing is allocated.

    /usr/bin/python3 make_beit_dump.py      (from this folder, with python3-torch)
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools"))
from dump_model import write_model_dump  # noqa: E402

DIM, DEPTH, HEADS, WINDOW = 768, 12, 12, 14


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, DIM, kernel_size=16, stride=16, device="meta")
        self.norm = nn.Identity()


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(DIM, DIM * 3, bias=False, device="meta")
        self.q_bias = nn.Parameter(torch.empty(DIM, device="meta"))
        self.register_buffer("k_bias", torch.empty(DIM, device="meta"), persistent=False)
        self.v_bias = nn.Parameter(torch.empty(DIM, device="meta"))
        rows = (2 * WINDOW - 1) ** 2 + 3  # BEiT: three extra rows (cls->token, token->cls, cls->cls)
        self.relative_position_bias_table = nn.Parameter(torch.empty(rows, HEADS, device="meta"))
        self.register_buffer("relative_position_index",
                             torch.empty(WINDOW * WINDOW + 1, WINDOW * WINDOW + 1, dtype=torch.long, device="meta"))
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(DIM, DIM, device="meta")
        self.proj_drop = nn.Dropout(0.0)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(DIM, 4 * DIM, device="meta")
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(4 * DIM, DIM, device="meta")
        self.drop2 = nn.Dropout(0.0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(DIM, device="meta")
        self.attn = Attention()
        self.drop_path1 = nn.Identity()
        self.norm2 = nn.LayerNorm(DIM, device="meta")
        self.mlp = Mlp()
        self.drop_path2 = nn.Identity()
        self.gamma_1 = nn.Parameter(torch.empty(DIM, device="meta"))
        self.gamma_2 = nn.Parameter(torch.empty(DIM, device="meta"))


class Beit(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = PatchEmbed()
        self.cls_token = nn.Parameter(torch.empty(1, 1, DIM, device="meta"))
        self.pos_drop = nn.Dropout(0.0)
        self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.norm = nn.Identity()  # use_mean_pooling: fc_norm instead
        self.fc_norm = nn.LayerNorm(DIM, device="meta")
        self.head_drop = nn.Dropout(0.0)
        self.head = nn.Linear(DIM, 1000, device="meta")


dump = write_model_dump(Beit(), "beit_b16.json", name="beit_base_patch16_224")
print(len(dump["tensors"]), "tensors")
