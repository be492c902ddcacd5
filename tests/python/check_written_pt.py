"""Cross-check with PyTorch: what `taxon apply` writes, torch.load reads.

Run by CTest with Debian's /usr/bin/python3; exits 77 (CTest: skipped) where
that Python has no torch. Usage: check_written_pt.py TAXON_BINARY
"""
import os
import subprocess
import sys
import tempfile

try:
    import torch
except ImportError:
    print("torch is not importable by this Python: skipped")
    sys.exit(77)

taxon = sys.argv[1]
root = os.path.join(os.path.dirname(__file__), "..", "..")
ckpt = os.path.join(root, "tests", "data", "ckpt")
plans = os.path.join(root, "tests", "data", "plans", "adapt.tx")
out_dir = tempfile.mkdtemp(prefix="taxon-pt-")


def apply(plan, source, name):
    out = os.path.join(out_dir, name)
    subprocess.run([taxon, "apply", plans, os.path.join(ckpt, source), "--plan", plan, "-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def same_tensors(a, b, what):
    assert list(a.keys()) == list(b.keys()), what
    for key in a:
        x, y = a[key], b[key]
        assert x.dtype == y.dtype and x.shape == y.shape and x.stride() == y.stride(), (what, key)
        assert torch.equal(x, y), (what, key)


# Plain state dicts load with weights_only=True, identical to their source.
for source in ["extra/views.pt", "extra/llama_tied_sd.pt", "extra/dtypes.pt", "swin_tiny/legacy.pt",
               "extra/big_endian_or_odd/empty.pt", "llama_tiny/model_bf16.safetensors"]:
    written = apply("identity", source, os.path.basename(source) + ".out.pt")
    loaded = torch.load(written, weights_only=True)
    if source.endswith(".safetensors"):
        assert len(loaded) == 21 and all(t.dtype == torch.bfloat16 for t in loaded.values()), source
    else:
        same_tensors(loaded, torch.load(os.path.join(ckpt, source), weights_only=True), source)
    print("ok", source)

views = torch.load(os.path.join(out_dir, "views.pt.out.pt"), weights_only=True)
assert views["row_slice"].storage().data_ptr() == views["base"].storage().data_ptr(), "a view lost its base"
tied = torch.load(os.path.join(out_dir, "llama_tied_sd.pt.out.pt"), weights_only=True)
assert tied["lm_head.weight"].data_ptr() == tied["model.embed_tokens.weight"].data_ptr(), "the tie was lost"
print("ok views share storage, the tie is kept")

# A nested checkpoint keeps its other entries (its floats need the full unpickler in torch 1.13).
ema = torch.load(apply("identity", "extra/vit_ema.pt", "ema.pt"))
original = torch.load(os.path.join(ckpt, "extra", "vit_ema.pt"))
assert list(ema.keys()) == list(original.keys()) and ema["epoch"] == original["epoch"]
assert ema["optimizer"]["param_groups"] == original["optimizer"]["param_groups"]
same_tensors(ema["model"], original["model"], "model")
same_tensors(ema["state_dict_ema"], original["state_dict_ema"], "state_dict_ema")
print("ok nested checkpoint: epoch, optimizer and EMA kept")

unwrapped = torch.load(apply("unwrap", "vit_tiny/ddp.pt", "unwrap.pt"), weights_only=True)
assert all(not key.startswith("module.") for key in unwrapped)
print("3 passed, 0 failed")
