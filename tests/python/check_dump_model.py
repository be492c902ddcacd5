"""tools/dump_model.py on real modules: ties, frozen parameters, non-persistent buffers, module
classes and the meta device come out as docs/model-dump.md says, and `taxon eval` reads the dump.

Run by CTest with Debian's /usr/bin/python3; exits 77 (CTest: skipped) where that Python has
no torch. Usage: check_dump_model.py TAXON_BINARY SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    from torch import nn
except ImportError:
    print("torch is not importable by this Python: skipped")
    sys.exit(77)

taxon, root = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "tools"))
from dump_model import model_dump, write_model_dump  # noqa: E402


class ChannelNorm(nn.LayerNorm):  # as torchvision's LayerNorm2d: isinstance(m, nn.LayerNorm) holds
    pass


class Tiny(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.embed = nn.Embedding(10, 4, device=device)
        self.norm = nn.LayerNorm(4, device=device)
        self.channel_norm = ChannelNorm(4, device=device)
        self.head = nn.Linear(4, 10, bias=False, device=device)
        self.head.weight = self.embed.weight  # tied
        self.register_buffer("position_ids", torch.arange(4, device=device), persistent=False)
        self.norm.weight.requires_grad_(False)


failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


dump = model_dump(Tiny())
rows = {t["name"]: t for t in dump["tensors"]}
check(dump["format"] == "model-dump/1", "format")
check(list(rows) == ["embed.weight", "norm.weight", "norm.bias", "channel_norm.weight", "channel_norm.bias", "head.weight",
                     "position_ids"], f"order: {list(rows)}")
check(rows["head.weight"].get("tied_to") == "embed.weight", "tie")
check(rows["norm.weight"]["requires_grad"] is False, "frozen")
check(rows["position_ids"]["kind"] == "buffer" and rows["position_ids"].get("persistent") is False, "non-persistent buffer")
check(rows["norm.bias"]["module"] == "norm" and rows["norm.bias"]["module_type"] == "LayerNorm", "module class")
check(rows["position_ids"]["dtype"] == "int64" and rows["embed.weight"]["shape"] == [10, 4], "dtype and shape")
modules = {m["name"]: m for m in dump["modules"]}
check(modules["channel_norm"]["type"] == "ChannelNorm" and modules["channel_norm"].get("mro") ==
      [f"{__name__}.ChannelNorm", "torch.nn.modules.normalization.LayerNorm"], f"ancestry: {modules['channel_norm']}")
check(modules[""].get("mro") == [f"{__name__}.Tiny"], f"ancestry without torch.nn.Module: {modules['']}")
scripted = model_dump(torch.jit.script(nn.Linear(2, 2)))
check(scripted["modules"][0]["type"] == "Linear" and "mro" not in scripted["modules"][0],
      f"TorchScript: its class name, no ancestry: {scripted['modules'][0]}")
meta = model_dump(Tiny(device="meta"))
check([t["name"] for t in meta["tensors"]] == list(rows), "meta device: the same names")
check(any(t.get("tied_to") == "embed.weight" for t in meta["tensors"]), "meta device: the tie")

with tempfile.TemporaryDirectory() as work:
    path = os.path.join(work, "tiny.json")
    write_model_dump(Tiny(), path)
    rules = os.path.join(work, "rules.tx")
    with open(rules, "w") as out:
        out.write('select exact : type is LayerNorm\n'
                  'group norms : type == LayerNorm { weight_decay = 0 }\ngroup rest : true\n')
    result = subprocess.run([taxon, "eval", rules, "--dump", path, "--format", "json"], capture_output=True, text=True)
    check(result.returncode == 0, f"taxon eval exit {result.returncode}: {result.stderr}")
    if result.returncode == 0:
        report = json.loads(result.stdout)
        groups = report["groups"]
        # isinstance: the subclass's parameters too; `type is` keeps to nn.LayerNorm itself. The frozen
        # norm.weight (requires_grad False in the model) is left out of the group, and counted.
        check(groups["norms"]["tensors"] == ["norm.bias", "channel_norm.weight", "channel_norm.bias"],
              f"norms: {groups['norms']['tensors']}")
        frozen = [name for name, p in Tiny().named_parameters() if not p.requires_grad]
        check(groups["norms"].get("frozen") == len(frozen) == 1, f"frozen left out: {groups['norms'].get('frozen')}")
        exact = report["selections"]["exact"]
        check(exact == ["norm.weight", "norm.bias"], f"type is: {exact}")
        # The tie is one tensor: embed.weight, seen once.
        check(groups["rest"]["tensors"] == ["embed.weight"], f"rest: {groups['rest']['tensors']}")
    cli = subprocess.run([sys.executable, os.path.join(root, "tools", "dump_model.py"), "torch.nn:Linear",
                          "--kwargs", '{"in_features": 3, "out_features": 2}', "-o", os.path.join(work, "linear.json")],
                         capture_output=True, text=True)
    check(cli.returncode == 0, f"command line: {cli.stderr}")
    if cli.returncode == 0:
        with open(os.path.join(work, "linear.json")) as f:
            check([t["name"] for t in json.load(f)["tensors"]] == ["weight", "bias"], "command line: the tensors")
    # Bad input: one line on stderr, exit 2 as taxon's own commands, never a traceback.
    script = os.path.join(root, "tools", "dump_model.py")
    for arguments, expected in [
            (["torch.nn:Linear", "--kwargs", "{in_features: 3}"], "--kwargs is not JSON"),
            (["torch.nn:Linear", "--kwargs", "[3, 2]"], "--kwargs must be a JSON object"),
            (["torch.nn:Linear", "--kwargs", '{"in_features": 3, "outs": 2}'], "torch.nn:Linear(**{"),
            (["torch.nn:NoSuchLayer"], "cannot find torch.nn:NoSuchLayer"),
            (["torch.nn.Linear"], "is not MODULE:CALLABLE")]:
        bad = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True)
        check(bad.returncode == 2 and expected in bad.stderr and "Traceback" not in bad.stderr,
              f"dump_model.py {arguments}: exit {bad.returncode}, {bad.stderr!r}")
    piped = subprocess.run(f"{sys.executable} {script} torch.nn:Linear --kwargs '{{\"in_features\": 3, \"out_features\": 2}}' "
                           f"| {taxon} eval {os.path.join(root, 'tests/data/rules/linnaeus/dimension.yaml')} --dump - --format json",
                           shell=True, capture_output=True, text=True)
    check(piped.returncode == 0 and json.loads(piped.stdout)["selections"]["filter"] == ["bias"],
          f"dump_model.py | taxon eval --dump -: {piped.returncode} {piped.stderr} {piped.stdout[:200]}")

for failure in failures:
    print("FAILED:", failure)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
