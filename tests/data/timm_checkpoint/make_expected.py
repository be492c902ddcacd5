#!/usr/bin/python3
"""Writes the reference data of tests/data/timm_checkpoint/: what timm's own checkpoint_filter_fn
makes of a checkpoint when the target model differs in image size, window size or patch size
(BEiT, Swin, ViT, DeiT), so that taxon's timm/checkpoint plans can be checked tensor by tensor.

    TIMM_GIT_DIR=/path/to/a/clone/of/pytorch-image-models \\
        /usr/bin/python3 tests/data/timm_checkpoint/make_expected.py TIMM_CHECKOUT [OUT_DIR]

TIMM_CHECKOUT is a checkout of huggingface/pytorch-image-models (for instance
`git --git-dir=$TIMM_GIT_DIR archive HEAD | tar -x -C /tmp/timm_src`); its commit is read with
`git -C TIMM_CHECKOUT rev-parse HEAD`, or, when the checkout has no .git, from the git dir named
by TIMM_GIT_DIR. timm is imported from there with Debian's python3-torch (1.13) and
python3-scipy (1.10: timm's TIMM_USE_SCIPY_INTERP=1 path calls scipy.interpolate.interp2d, which
SciPy 1.14 removed). OUT_DIR defaults to this script's folder. It runs on one CPU thread, in
about 10 s. Do not set TIMM_USE_SCIPY_INTERP yourself: timm reads it once, when
timm/layers/pos_embed_rel.py is imported (_USE_SCIPY), so the script computes the default path
itself and runs itself again in a subprocess with TIMM_USE_SCIPY_INTERP=1 (`--scipy-worker`) for
the cases that have a scipy variant.

For every case (CASES below) the source and the target are timm's own models,
timm.create_model(NAME, pretrained=False, num_classes=10, **KWARGS, **SRC or **DST), shrunk by
KWARGS (embed_dim, depth, heads). Random weights, nothing downloaded. The tensors that the filter
resizes (relative_position_bias_table, pos_embed, patch_embed.proj.weight) are refilled with
N(0, 1) values (timm initialises them with std 0.02 or zeros), so that an absolute tolerance of
1e-6 means something. Then:

  - CASE_source.pt: the source state dict, torch.save (zip format) of a flat {name: tensor}.
    Where the case says so it is made to look like an original (Microsoft/unilm) checkpoint: the
    buffers that old checkpoints carry (relative_position_index, Swin's attn_mask) are added, and
    a Swin checkpoint gets the Microsoft key names (head.weight, layers.N.downsample at the end of
    stage N), which the filter renames.
  - TARGET.json: the target model's dump (model-dump/1, tools/dump_model.py's model_dump()).
  - CASE_expected.pt: timm's FILTER(source_state_dict, target_model) (default path), checked to
    load into the target with load_state_dict(strict=True).
  - CASE_expected_scipy.pt: the same with TIMM_USE_SCIPY_INTERP=1 (BEiT and Swin cases).
  - tables.pt / tables_scipy.pt: resize_rel_pos_bias_table alone on N(0, 1) tables, for window
    pairs that the models do not cover (downsizing, same size, window 2).
  - expected.json: the timm commit, the cases, every source key's fate (kept, dropped, renamed,
    resized, with the timm function and arguments), each resized tensor recomputed from the
    description in ALGORITHMS.md (max abs error), and the max abs difference from the resize
    taxon has today (a plain bicubic grid resize), to show where the algorithms differ.

The script exits with status 1 (after writing) if a check fails.
"""
import json
import os
import re
import subprocess
import sys
import warnings

NUM_CLASSES = 10
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
GENERATOR = "tests/data/timm_checkpoint/make_expected.py"
DATA_DIR = "tests/data/timm_checkpoint"

# name, family, timm model, shrinking kwargs, source-only kwargs, target-only kwargs,
# source format, filter kwargs, scipy variant, target dump file.
CASES = [
    dict(case="beit_224_to_384", family="beit", model="beit_base_patch16_224",
         kwargs=dict(embed_dim=16, depth=2, num_heads=2, mlp_ratio=1.0), src={}, dst=dict(img_size=384),
         source_format="unilm", filter_kwargs={}, scipy=True,
         note="per-block relative position bias (27x27+3 -> 47x47+3 rows), no pos_embed, as "
              "beit_base_patch16_224 -> beit_base_patch16_384; the source carries the "
              "relative_position_index buffers as unilm checkpoints do"),
    dict(case="beit_shared_224_to_384", family="beit", model="beit_base_patch16_224",
         kwargs=dict(embed_dim=16, depth=1, num_heads=2, mlp_ratio=1.0, use_abs_pos_emb=True,
                     use_rel_pos_bias=False, use_shared_rel_pos_bias=True),
         src={}, dst=dict(img_size=384), source_format="timm", filter_kwargs={}, scipy=True,
         note="BEiT with an absolute pos_embed (1 class token) and one shared table "
              "rel_pos_bias.relative_position_bias_table, as BEiT's pre-training models"),
    dict(case="swin_w7_to_w12", family="swin", model="swin_tiny_patch4_window7_224",
         kwargs=dict(embed_dim=8, depths=(1, 1, 2, 1), num_heads=(2, 2, 2, 2), mlp_ratio=1.0),
         src={}, dst=dict(img_size=384, window_size=12), source_format="timm",
         filter_kwargs={}, scipy=True,
         note="timm-format Swin (head.fc.*), window 7 at 224 px -> window 12 at 384 px "
              "(13x13 -> 23x23 rows per table), as swin_*_window7_224 -> swin_*_window12_384"),
    dict(case="swin_ms_w7_to_w12", family="swin", model="swin_tiny_patch4_window7_224",
         kwargs=dict(embed_dim=8, depths=(1, 1, 2, 1), num_heads=(2, 2, 2, 2), mlp_ratio=1.0),
         src={}, dst=dict(img_size=384, window_size=12), source_format="microsoft",
         filter_kwargs={}, scipy=False, target_dump="swin_w7_to_w12_target.json",
         note="the same weights as swin_w7_to_w12 in Microsoft's format: head.weight, "
              "layers.N.downsample (end of stage N), relative_position_index and attn_mask "
              "buffers; the filter drops the buffers and renames the rest"),
    dict(case="vit_224_to_384", family="vit", model="vit_tiny_patch16_224",
         kwargs=dict(embed_dim=16, depth=2, num_heads=2, mlp_ratio=1.0), src={}, dst=dict(img_size=384),
         source_format="timm", filter_kwargs={}, scipy=False,
         note="pos_embed 1 + 14x14 -> 1 + 24x24 tokens, as vit_*_patch16_224 -> _384"),
    dict(case="vit_p16_to_p8", family="vit", model="vit_tiny_patch16_224",
         kwargs=dict(embed_dim=16, depth=1, num_heads=2, mlp_ratio=1.0), src={},
         dst=dict(img_size=384, patch_size=8), source_format="timm", filter_kwargs={},
         scipy=False,
         note="224 px / patch 16 -> 384 px / patch 8: patch_embed.proj.weight 16x16 -> 8x8 "
              "(resample_patch_embed), pos_embed 1 + 14x14 -> 1 + 48x48"),
    dict(case="vit_reg4_gap_256_to_384", family="vit", model="vit_little_patch16_reg4_gap_256",
         kwargs=dict(embed_dim=16, depth=1, num_heads=2, mlp_ratio=1.0), src={}, dst=dict(img_size=384),
         source_format="timm", filter_kwargs={}, scipy=False,
         note="no class token, 4 register tokens, no_embed_class=True: pos_embed holds the grid "
              "only (16x16 -> 24x24), so num_prefix_tokens=0 although model.num_prefix_tokens=4"),
    dict(case="deit_distilled_224_to_384", family="deit", model="deit_tiny_distilled_patch16_224",
         kwargs=dict(embed_dim=16, depth=1, num_heads=2, mlp_ratio=1.0), src={}, dst=dict(img_size=384),
         source_format="timm", filter_kwargs=dict(adapt_layer_scale=True), scipy=False,
         note="class + distillation token: num_prefix_tokens=2 (2 + 14x14 -> 2 + 24x24); deit.py "
              "loads with partial(vision_transformer.checkpoint_filter_fn, adapt_layer_scale=True)"),
]

FILTERS = {"beit": "timm.models.beit.checkpoint_filter_fn",
           "swin": "timm.models.swin_transformer.checkpoint_filter_fn",
           "vit": "timm.models.vision_transformer.checkpoint_filter_fn",
           "deit": "timm.models.vision_transformer.checkpoint_filter_fn"}

# Stand-alone resize_rel_pos_bias_table runs: (label, source window, target window, extra rows).
TABLES = [
    ("w14_to_w24_x3", 14, 24, 3),    # BEiT 224 -> 384
    ("w14_to_w28_x3", 14, 28, 3),    # BEiT 224 -> 448
    ("w7_to_w12_x0", 7, 12, 0),      # Swin window 7 -> 12
    ("w12_to_w7_x0", 12, 7, 0),      # downsizing: q stays at its lower bound (1.01)
    ("w24_to_w14_x3", 24, 14, 3),    # downsizing with BEiT's 3 extra rows
    ("w4_to_w16_x0", 4, 16, 0),      # q stops at its upper bound 1.5: the outer rows clamp
    ("w7_to_w7_x0", 7, 7, 0),        # same size: returned as is
    ("w2_to_w3_x0", 2, 3, 0),        # 3 source points: integer positions; scipy cannot (needs > 3)
]
TABLE_HEADS = 2


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from timm_support import timm_commit  # noqa: E402


def setup(checkout):
    # timm's RegularGridInterpolator bucketizes a non-contiguous grid: torch warns once.
    warnings.filterwarnings("ignore", message="torch.searchsorted")
    sys.path.insert(0, checkout)
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import torch
    import timm
    assert os.path.dirname(os.path.dirname(os.path.abspath(timm.__file__))) == checkout, timm.__file__
    torch.set_num_threads(1)
    return torch, timm


def filter_fn(family):
    module, _, name = FILTERS[family].rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def build(timm, torch, spec, which, seed):
    torch.manual_seed(seed)
    kwargs = dict(spec["kwargs"], **spec[which])
    model = timm.create_model(spec["model"], pretrained=False, num_classes=NUM_CLASSES, **kwargs)
    return model.eval(), kwargs


def target_of(spec):
    return spec.get("target_dump", f"{spec['case']}_target.json")


def source_state_dict(torch, model, spec):
    """(state dict, {source key: timm key or None when the filter is expected to drop it})."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(1)
    for k, v in sd.items():
        if k.endswith("relative_position_bias_table") or k == "pos_embed" or k.endswith("patch_embed.proj.weight"):
            sd[k] = torch.randn(v.shape, generator=gen, dtype=v.dtype)
    fate = {k: k for k in sd}
    if spec["source_format"] == "timm":
        return sd, fate
    modules = dict(model.named_modules())
    out, out_fate = {}, {}
    for k, v in sd.items():
        out[k], out_fate[k] = v, k
        if k.endswith("relative_position_bias_table"):      # unilm and Microsoft keep the index
            path = k[:-len(".relative_position_bias_table")]
            out[path + ".relative_position_index"] = modules[path].relative_position_index.clone()
            out_fate[path + ".relative_position_index"] = None
        if spec["source_format"] == "microsoft" and k.endswith(".mlp.fc2.bias"):
            block = modules[k[:-len(".mlp.fc2.bias")]]
            if getattr(block, "attn_mask", None) is not None:
                mask_key = k[:-len(".mlp.fc2.bias")] + ".attn_mask"
                out[mask_key], out_fate[mask_key] = block.attn_mask.clone(), None
    if spec["source_format"] == "microsoft":
        renamed, renamed_fate = {}, {}
        for k, v in out.items():
            ms = re.sub(r"^layers\.(\d+)\.downsample",
                        lambda m: f"layers.{int(m.group(1)) - 1}.downsample", k)
            ms = ms.replace("head.fc.", "head.")
            renamed[ms], renamed_fate[ms] = v, out_fate[k]
        out, out_fate = renamed, renamed_fate
    return out, out_fate


def save(torch, tensors, path):
    # Each tensor with its own contiguous storage, so that the file holds nothing else.
    torch.save({k: v.detach().clone().contiguous() for k, v in tensors.items()}, path)


def maxdiff(a, b):
    if a.shape != b.shape:
        return None
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


# ---------------------------------------------------------------------------------------------
# Independent re-implementations of ALGORITHMS.md (float64 numpy), and the plain resizes.

def gp_positions(src, dst):
    """Section (a)/(b): the geometric-progression source positions (python floats) and q."""
    left, right = 1.01, 1.5
    q = None
    while right - left > 1e-6:
        q = (left + right) / 2.0
        gp = (1.0 - q ** (src // 2)) / (1.0 - q)
        if gp > dst // 2:
            right = q
        else:
            left = q
    dis, cur = [], 1
    for i in range(src // 2):
        dis.append(cur)
        cur += q ** (i + 1)
    return [-d for d in reversed(dis)] + [0] + dis, q


def table_reference(torch, table, src, dst, extra, scipy):
    """Section (a) (separable piecewise-linear, positions rounded to float32, edges clamped) or
    (b) (separable not-a-knot cubic spline in float64, evaluation points clamped), in float64."""
    import numpy as np
    pos, _ = gp_positions(src, dst)
    grid = table[:src * src].double().numpy()
    heads = grid.shape[1]
    tgt = np.arange(-(dst // 2), dst // 2 + 1, dtype=np.float64)
    out = np.zeros((dst * dst, heads))
    if scipy:
        from scipy.interpolate import CubicSpline
        p = np.array(pos, dtype=np.float64)
        t = np.clip(tgt, p[0], p[-1])
        for h in range(heads):
            z = grid[:, h].reshape(src, src)
            zx = CubicSpline(p, z, axis=1, bc_type="not-a-knot")(t)
            out[:, h] = CubicSpline(p, zx, axis=0, bc_type="not-a-knot")(t).reshape(-1)
    else:
        p = np.array(pos, dtype=np.float32).astype(np.float64)
        for h in range(heads):
            z = grid[:, h].reshape(src, src)
            zx = np.stack([np.interp(tgt, p, z[i]) for i in range(src)])
            out[:, h] = np.stack([np.interp(tgt, p, zx[:, j]) for j in range(dst)], 1).reshape(-1)
    out = torch.from_numpy(out)
    if extra:
        out = torch.cat([out, table[src * src:].double()])
    return out


def plain_bicubic_table(torch, table, src, dst, extra):
    """What taxon's `resize rel_pos_bias` does today: F.interpolate bicubic, align_corners=False,
    antialias=False on the (heads, src, src) grid; extra rows kept last."""
    import torch.nn.functional as F
    heads = table.shape[1]
    g = table[:src * src].float().t().reshape(1, heads, src, src)
    r = F.interpolate(g, size=(dst, dst), mode="bicubic", align_corners=False)
    r = r.reshape(heads, dst * dst).t()
    return torch.cat([r, table[src * src:].float()]) if extra else r


def cubic(x, a):
    x = abs(x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def aa_bicubic_matrix(n_in, n_out):
    """Section (c)'s 1-D weights of F.interpolate(mode='bicubic', antialias=True), float64."""
    import numpy as np
    scale = n_in / n_out
    support = 2.0 * max(scale, 1.0)
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        w = np.array([cubic((j - center + 0.5) / max(scale, 1.0), -0.5) for j in range(lo, hi)])
        m[i, lo:hi] = w / w.sum()
    return m


def pos_embed_reference(torch, v, prefix, old, new):
    """Section (d)'s resample_abs_pos_embed from aa_bicubic_matrix, float64."""
    import numpy as np
    dim = v.shape[-1]
    grid = v[0, prefix:].double().numpy().reshape(old, old, dim)
    a = aa_bicubic_matrix(old, new)
    r = np.einsum("yi,ijc,xj->yxc", a, grid, a).reshape(1, new * new, dim)
    return torch.cat([v[:, :prefix].double(), torch.from_numpy(r)], 1)


def patch_embed_reference(torch, w, new, dtype):
    """Section (c): W' = W_flat @ pinv(M), M[:, j] = aa-bicubic resize of basis image j."""
    import numpy as np
    o, i, h, ww = w.shape
    ah, aw = aa_bicubic_matrix(h, new[0]), aa_bicubic_matrix(ww, new[1])
    m = np.kron(ah, aw)                               # (new_h*new_w, h*w), row-major pixels
    if dtype == "float32":
        pinv = torch.linalg.pinv(torch.from_numpy(m).float()).double()
    else:
        pinv = torch.linalg.pinv(torch.from_numpy(m))
    return (w.reshape(o, i, h * ww).double() @ pinv).reshape(o, i, *new)


# ---------------------------------------------------------------------------------------------

def describe_change(model, spec, src_key, dst_key, v, out):
    """How the filter changed one tensor: the timm call and its arguments."""
    fk = spec["filter_kwargs"]
    interp = fk.get("interpolation", "bicubic")
    aa = fk.get("antialias", True)
    if dst_key.endswith("relative_position_bias_table"):
        m = model.get_submodule(dst_key[:-29])
        return dict(function="timm.layers.pos_embed_rel.resize_rel_pos_bias_table",
                    args=dict(new_window_size=list(m.window_size),
                              new_bias_shape=list(m.relative_position_bias_table.shape)),
                    source_grid=int(round((v.shape[0] - (out.shape[0] - (2 * m.window_size[0] - 1) ** 2)) ** 0.5)),
                    target_grid=2 * m.window_size[0] - 1,
                    extra_rows=out.shape[0] - (2 * m.window_size[0] - 1) ** 2)
    if dst_key == "pos_embed":
        if spec["family"] == "beit":
            prefix = 1
        else:
            prefix = 0 if getattr(model, "no_embed_class", False) else getattr(model, "num_prefix_tokens", 1)
        return dict(function="timm.layers.pos_embed.resample_abs_pos_embed",
                    args=dict(new_size=list(model.patch_embed.grid_size), num_prefix_tokens=prefix,
                              interpolation=interp, antialias=aa),
                    source_grid=int(round((v.shape[1] - prefix) ** 0.5)),
                    target_grid=list(model.patch_embed.grid_size))
    if "patch_embed.proj.weight" in dst_key:
        return dict(function="timm.layers.patch_embed.resample_patch_embed",
                    args=dict(new_size=list(out.shape[-2:]),
                              interpolation="bicubic" if spec["family"] == "swin" else interp,
                              antialias=True if spec["family"] == "swin" else aa))
    return dict(function=None)


def run_case(torch, timm, spec, out_dir, model_dump, to_json, failures):
    import timm.layers.pos_embed_rel as per
    from timm.layers import resample_abs_pos_embed, resample_patch_embed
    name = spec["case"]
    src_model, src_kwargs = build(timm, torch, spec, "src", 0)
    dst_model, dst_kwargs = build(timm, torch, spec, "dst", 1)
    sd, fate = source_state_dict(torch, src_model, spec)

    src_file, exp_file, dump_file = f"{name}_source.pt", f"{name}_expected.pt", target_of(spec)
    save(torch, sd, os.path.join(out_dir, src_file))
    label = ", ".join(f"{k}={v!r}" for k, v in dst_kwargs.items())
    dump = model_dump(dst_model, name=f"{spec['model']} ({label})")
    with open(os.path.join(out_dir, dump_file), "w") as f:
        f.write(to_json(dump))

    assert not per._USE_SCIPY
    out = filter_fn(spec["family"])(dict(sd), dst_model, **spec["filter_kwargs"])
    save(torch, out, os.path.join(out_dir, exp_file))

    missing, unexpected = dst_model.load_state_dict(out, strict=False)
    if missing or unexpected:
        failures.append(f"{name}: load_state_dict: missing {missing}, unexpected {unexpected}")
    target_sd = dst_model.state_dict()

    # Every source key: kept as is, dropped, renamed, resized.
    expected_keys = {v for v in fate.values() if v is not None}
    if set(out) != expected_keys:
        failures.append(f"{name}: filter keys differ from the expected ones: {sorted(set(out) ^ expected_keys)}")
    changes, kept, dropped, renamed = [], 0, [], []
    for k, v in sd.items():
        t = fate[k]
        if t is None:
            dropped.append(dict(key=k, shape=list(v.shape), dtype=str(v.dtype).replace("torch.", "")))
            continue
        if t != k:
            renamed.append(dict(source_key=k, key=t))
        o = out[t]
        if o.shape == v.shape:
            if not torch.equal(o, v):
                failures.append(f"{name}: {k} changed values without a shape change")
            kept += 1
            continue
        entry = dict(source_key=k, key=t, source_shape=list(v.shape), shape=list(o.shape),
                     target_shape=list(target_sd[t].shape), dtype=str(o.dtype).replace("torch.", ""))
        entry.update(describe_change(dst_model, spec, k, t, v, o))
        f, args = entry["function"], entry.get("args", {})
        # timm's own function called directly, then the description (ALGORITHMS.md) in float64.
        if f and f.endswith("resize_rel_pos_bias_table"):
            direct = per.resize_rel_pos_bias_table(v, args["new_window_size"], args["new_bias_shape"])
            s, d, x = entry["source_grid"], entry["target_grid"], entry["extra_rows"]
            ref = table_reference(torch, v, s, d, x, scipy=False)
            plain = plain_bicubic_table(torch, v, s, d, x)
            entry["checks"] = dict(
                direct_call_max_abs_diff=maxdiff(o, direct),
                algorithms_md_float64_max_abs_diff=maxdiff(o, ref),
                extra_rows_kept_bitwise=bool(torch.equal(o[d * d:], v[s * s:])) if x else None,
                plain_bicubic_max_abs_diff=maxdiff(o, plain))
            q = gp_positions(s, d)[1]
            entry["q"] = q
        elif f and f.endswith("resample_abs_pos_embed"):
            direct = resample_abs_pos_embed(v, args["new_size"], num_prefix_tokens=args["num_prefix_tokens"],
                                            interpolation=args["interpolation"], antialias=args["antialias"])
            no_aa = resample_abs_pos_embed(v, args["new_size"], num_prefix_tokens=args["num_prefix_tokens"],
                                           interpolation="bicubic", antialias=False)
            ref = pos_embed_reference(torch, v, args["num_prefix_tokens"], entry["source_grid"], args["new_size"][0])
            entry["checks"] = dict(
                direct_call_max_abs_diff=maxdiff(o, direct),
                algorithms_md_float64_max_abs_diff=maxdiff(o, ref),
                prefix_tokens_kept_bitwise=bool(torch.equal(o[:, :args["num_prefix_tokens"]], v[:, :args["num_prefix_tokens"]])),
                bicubic_without_antialias_max_abs_diff=maxdiff(o, no_aa))
        elif f and f.endswith("resample_patch_embed"):
            direct = resample_patch_embed(v, args["new_size"], interpolation=args["interpolation"],
                                          antialias=args["antialias"])
            import torch.nn.functional as F
            naive = F.interpolate(v, size=args["new_size"], mode="bicubic", antialias=True)
            entry["checks"] = dict(
                direct_call_max_abs_diff=maxdiff(o, direct),
                algorithms_md_float32_pinv_max_abs_diff=maxdiff(o, patch_embed_reference(torch, v, args["new_size"], "float32")),
                algorithms_md_float64_pinv_max_abs_diff=maxdiff(o, patch_embed_reference(torch, v, args["new_size"], "float64")),
                plain_kernel_resize_max_abs_diff=maxdiff(o, naive),
                max_abs_value=float(o.abs().max()))
        else:
            failures.append(f"{name}: {k} resized by no known function")
        if o.shape != target_sd[t].shape:
            failures.append(f"{name}: {t} has shape {list(o.shape)}, the target {list(target_sd[t].shape)}")
        for check, value in entry.get("checks", {}).items():
            if check.startswith(("direct_call", "algorithms_md")) and (value is None or value > 2e-5):
                failures.append(f"{name}: {t}: {check} = {value}")
        changes.append(entry)

    return dict(
        case=name, family=spec["family"], model=spec["model"], note=spec["note"],
        source_kwargs=dict(src_kwargs, num_classes=NUM_CLASSES),
        target_kwargs=dict(dst_kwargs, num_classes=NUM_CLASSES),
        source_format=spec["source_format"],
        filter=FILTERS[spec["family"]], filter_kwargs=spec["filter_kwargs"],
        source=f"{DATA_DIR}/{src_file}", target_dump=f"{DATA_DIR}/{dump_file}",
        expected=f"{DATA_DIR}/{exp_file}",
        expected_scipy=f"{DATA_DIR}/{name}_expected_scipy.pt" if spec["scipy"] else None,
        num_source_keys=len(sd), num_expected_keys=len(out),
        expected_keys_in_target_order=[k for k in target_sd if k in out] == list(out),
        kept=kept, dropped=dropped, renamed=renamed, resized=changes)


def table_cases(torch):
    gen = torch.Generator().manual_seed(2)
    tables = {}
    for label, ws, wd, extra in TABLES:
        s = 2 * ws - 1
        tables[label] = torch.randn(s * s + extra, TABLE_HEADS, generator=gen)
    return tables


def resize_tables(torch, per, tables):
    out, errors = {}, {}
    for label, ws, wd, extra in TABLES:
        d = 2 * wd - 1
        try:
            out[label] = per.resize_rel_pos_bias_table(tables[label], (wd, wd), (d * d + extra, TABLE_HEADS))
        except Exception as e:  # noqa: BLE001  (recorded: scipy needs more than 3 points)
            errors[label] = f"{type(e).__name__}: {e}"
    return out, errors


def scipy_worker(checkout, out_dir):
    """Runs with TIMM_USE_SCIPY_INTERP=1: the scipy variants of the cases and tables."""
    warnings.simplefilter("ignore", DeprecationWarning)   # interp2d is deprecated in SciPy 1.10
    torch, timm = setup(checkout)
    import scipy
    import timm.layers.pos_embed_rel as per
    assert per._USE_SCIPY, "TIMM_USE_SCIPY_INTERP did not reach timm"
    report = dict(scipy=scipy.__version__, cases={})
    for spec in CASES:
        if not spec["scipy"]:
            continue
        dst_model, _ = build(timm, torch, spec, "dst", 1)
        sd = torch.load(os.path.join(out_dir, f"{spec['case']}_source.pt"))
        out = filter_fn(spec["family"])(dict(sd), dst_model, **spec["filter_kwargs"])
        save(torch, out, os.path.join(out_dir, f"{spec['case']}_expected_scipy.pt"))
    tables = torch.load(os.path.join(out_dir, "tables.pt"))
    inputs = {k[len("in."):]: v for k, v in tables.items() if k.startswith("in.")}
    out, errors = resize_tables(torch, per, inputs)
    save(torch, {f"scipy.{k}": v for k, v in out.items()}, os.path.join(out_dir, "tables_scipy.pt"))
    report["table_errors"] = errors
    print(json.dumps(report))


def main():
    args = [a for a in sys.argv[1:] if a != "--scipy-worker"]
    if len(args) not in (1, 2):
        raise SystemExit(__doc__)
    checkout = os.path.abspath(args[0])
    out_dir = os.path.abspath(args[1]) if len(args) > 1 else HERE
    if "--scipy-worker" in sys.argv:
        return scipy_worker(checkout, out_dir)
    if int(os.environ.get("TIMM_USE_SCIPY_INTERP", 0)) > 0:
        raise SystemExit("unset TIMM_USE_SCIPY_INTERP: the script sets it for its scipy worker")
    torch, timm = setup(checkout)
    import numpy
    import timm.layers.pos_embed_rel as per
    from dump_model import model_dump, _to_json  # tools/dump_model.py
    commit = timm_commit(checkout)
    os.makedirs(out_dir, exist_ok=True)
    failures = []

    cases = [run_case(torch, timm, spec, out_dir, model_dump, _to_json, failures) for spec in CASES]

    tables = table_cases(torch)
    default_out, default_errors = resize_tables(torch, per, tables)
    if default_errors:
        failures.append(f"tables (default path): {default_errors}")
    save(torch, dict({f"in.{k}": v for k, v in tables.items()},
                     **{f"default.{k}": v for k, v in default_out.items()}),
         os.path.join(out_dir, "tables.pt"))

    env = dict(os.environ, TIMM_USE_SCIPY_INTERP="1", OMP_NUM_THREADS="1")
    worker = subprocess.run([sys.executable, os.path.abspath(__file__), checkout, out_dir, "--scipy-worker"],
                            env=env, capture_output=True, text=True)
    if worker.returncode != 0:
        raise SystemExit(f"scipy worker failed:\n{worker.stderr}")
    scipy_report = json.loads(worker.stdout.strip().splitlines()[-1])
    scipy_tables = torch.load(os.path.join(out_dir, "tables_scipy.pt"))

    # Scipy variants of the cases: only the tables differ from the default path.
    for case in cases:
        if not case["expected_scipy"]:
            continue
        exp = torch.load(os.path.join(out_dir, os.path.basename(case["expected"])))
        sci = torch.load(os.path.join(out_dir, os.path.basename(case["expected_scipy"])))
        src = torch.load(os.path.join(out_dir, os.path.basename(case["source"])))
        if list(sci) != list(exp):
            failures.append(f"{case['case']}: scipy keys differ")
        differ = sorted(k for k in exp if not torch.equal(exp[k], sci[k]))
        tables_keys = sorted(e["key"] for e in case["resized"] if e["key"].endswith("relative_position_bias_table"))
        if differ != tables_keys:
            failures.append(f"{case['case']}: scipy differs in {differ}, expected {tables_keys}")
        for e in case["resized"]:
            if not e["key"].endswith("relative_position_bias_table"):
                continue
            s, d, x = e["source_grid"], e["target_grid"], e["extra_rows"]
            v = src[e["source_key"]]
            e["checks_scipy"] = dict(
                algorithms_md_float64_max_abs_diff=maxdiff(sci[e["key"]], table_reference(torch, v, s, d, x, scipy=True)),
                extra_rows_kept_bitwise=bool(torch.equal(sci[e["key"]][d * d:], v[s * s:])) if x else None,
                default_path_max_abs_diff=maxdiff(sci[e["key"]], exp[e["key"]]),
                plain_bicubic_max_abs_diff=maxdiff(sci[e["key"]], plain_bicubic_table(torch, v, s, d, x)))
            if e["checks_scipy"]["algorithms_md_float64_max_abs_diff"] > 2e-5:
                failures.append(f"{case['case']}: {e['key']}: scipy description off")

    table_rows = []
    for label, ws, wd, extra in TABLES:
        s, d = 2 * ws - 1, 2 * wd - 1
        t = tables[label]
        pos, q = gp_positions(s, d)
        row = dict(label=label, source_window=ws, target_window=wd, extra_rows=extra,
                   source_shape=list(t.shape), target_shape=[d * d + extra, TABLE_HEADS],
                   q=q, source_positions_float64=pos, target_positions=list(range(-(d // 2), d // 2 + 1)),
                   default=f"default.{label}", scipy=f"scipy.{label}" if f"scipy.{label}" in scipy_tables else None,
                   scipy_error=scipy_report["table_errors"].get(label))
        o = default_out[label]
        if s == d:
            row["default_returns_input_unchanged"] = bool(torch.equal(o, t))
        else:
            row["default_algorithms_md_float64_max_abs_diff"] = maxdiff(o, table_reference(torch, t, s, d, extra, False))
            plain = plain_bicubic_table(torch, t, s, d, extra)
            row["default_plain_bicubic_max_abs_diff"] = maxdiff(o, plain)
            # timm's resize_rel_pos_bias_table_simple (used by no filter here) is the plain resize.
            simple = per.resize_rel_pos_bias_table_simple(t, (wd, wd), (d * d + extra, TABLE_HEADS))
            row["timm_simple_vs_plain_bicubic_max_abs_diff"] = maxdiff(simple, plain)
            if row["timm_simple_vs_plain_bicubic_max_abs_diff"] != 0.0:
                failures.append(f"tables {label}: resize_rel_pos_bias_table_simple is not the plain resize")
            if row["default_algorithms_md_float64_max_abs_diff"] > 2e-5:
                failures.append(f"tables {label}: default description off")
        if row["scipy"]:
            so = scipy_tables[row["scipy"]]
            if s == d:
                row["scipy_returns_input_unchanged"] = bool(torch.equal(so, t))
            else:
                row["scipy_algorithms_md_float64_max_abs_diff"] = maxdiff(so, table_reference(torch, t, s, d, extra, True))
                row["scipy_default_max_abs_diff"] = maxdiff(so, o)
                if row["scipy_algorithms_md_float64_max_abs_diff"] > 2e-5:
                    failures.append(f"tables {label}: scipy description off")
        table_rows.append(row)

    files = sorted(f for f in os.listdir(out_dir) if f.endswith((".pt", ".json")) and f != "expected.json")
    result = dict(
        timm=dict(commit=commit, version=timm.__version__, torch=torch.__version__,
                  numpy=numpy.__version__, scipy=scipy_report["scipy"], generator=GENERATOR,
                  num_classes=NUM_CLASSES,
                  note="sources refill relative_position_bias_table, pos_embed and "
                       "patch_embed.proj.weight with N(0, 1); all tensors float32 (indices int64)"),
        cases=cases,
        tables=dict(file=f"{DATA_DIR}/tables.pt", scipy_file=f"{DATA_DIR}/tables_scipy.pt",
                    function="timm.layers.pos_embed_rel.resize_rel_pos_bias_table(in, (wd, wd), ((2wd-1)^2 + extra, heads))",
                    keys="in.LABEL (input), default.LABEL (default path), scipy.LABEL (TIMM_USE_SCIPY_INTERP=1)",
                    rows=table_rows),
        files={f: os.path.getsize(os.path.join(out_dir, f)) for f in files},
    )
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    total = sum(result["files"].values())
    print(f"{len(cases)} cases, {len(table_rows)} tables, {len(files)} files, {total} bytes; timm {commit}")
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
