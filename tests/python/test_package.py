"""The Python package `taxon` (python/taxon/) with Debian's torch: groups, freezing, explain, lint,
load_checkpoint from every on-disk form, a plan with a tensor action, and the errors.

Run by CTest with the package on PYTHONPATH (the build tree's, or an installed one)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import taxon  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


# A live module tree rebuilt from a model dump: the same names, shapes, flags and classes (with
# their ancestry, so isinstance-style `type in` answers alike), so presets can be checked on models
# whose library (timm) is not installed. `device="meta"` allocates nothing.
_classes = {}


def _class(qualified_chain):
    if not qualified_chain:
        return torch.nn.Module
    key = tuple(qualified_chain)
    if key not in _classes:
        base = _class(qualified_chain[1:])
        module, _, qualname = qualified_chain[0].rpartition(".")
        cls = type(qualname.rpartition(".")[2], (base,), {"__module__": module, "__qualname__": qualname})
        _classes[key] = cls
    return _classes[key]


def module_from_dump(dump, device="meta"):
    modules = {}
    for entry in dump["modules"]:
        chain = entry.get("mro") or [f"dump.{entry['type']}"]
        module = _class(chain)()
        modules[entry["name"]] = module
        if entry["name"]:
            parent, _, leaf = entry["name"].rpartition(".")
            modules[parent].add_module(leaf, module)
    for t in dump["tensors"]:
        if "tied_to" in t:
            continue
        owner, _, leaf = t["name"].rpartition(".")
        data = torch.zeros(t["shape"], dtype=getattr(torch, t["dtype"]), device=device)
        if t.get("kind", "parameter") == "parameter":
            modules[owner].register_parameter(leaf, torch.nn.Parameter(data, requires_grad=t.get("requires_grad", True)))
        else:
            modules[owner].register_buffer(leaf, data, persistent=t.get("persistent", True))
    return modules[""]


def load_dump(path):
    return json.loads(pathlib.Path(path).read_text())


def test_import_taxon_does_not_import_torch():
    code = "import sys, taxon; assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_param_groups_split_per_tensor_options_scale_lr_and_leave_frozen_out():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    rules = taxon.load_rules(
        'group no_decay : name ends ".bias" or type in {LayerNorm} { weight_decay = 0.0 }\n'
        'group layers : name ~ /^(?P<i>\\d+)\\.weight$/ { weight_decay = 0.05, lr_mult = 0.5 ** (2 - i) }\n')
    groups = rules.param_groups(model, lr=0.1, momentum=0.9)
    by_name = {g["name"]: g for g in groups}
    assert set(by_name) == {"no_decay", "layers"}  # layers keeps one part: 0.weight is frozen
    assert [p is q for p, q in zip(by_name["no_decay"]["params"], [model[0].bias, model[1].weight, model[1].bias, model[2].bias])] == [True] * 4
    assert by_name["no_decay"]["lr"] == 0.1 and by_name["no_decay"]["weight_decay"] == 0.0
    assert by_name["layers"]["params"][0] is model[2].weight
    assert by_name["layers"]["lr"] == 0.1 * 1.0
    assert all(g["momentum"] == 0.9 for g in groups)
    assert all(p is not model[0].weight for g in groups for p in g["params"])
    torch.optim.SGD(groups)  # torch accepts them as they are

    model[0].weight.requires_grad_(True)
    parts = rules.param_groups(model, lr=1.0)
    layers = {g["name"]: g for g in parts if g["name"].startswith("layers")}
    assert len(layers) == 2  # lr_mult differs per tensor: one group per distinct value
    assert sorted(g["lr"] for g in layers.values()) == [0.25, 1.0]


def test_evaluate_gives_the_eval_json():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    report = taxon.load_rules('group all : kind == parameter { lr = 0.01 }').evaluate(model)
    assert report["groups"]["all"] == {"options": {"lr": 0.01}, "tensors": ["0.weight", "0.bias"]}
    assert report["diagnostics"] == []


def test_freeze_and_select():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    rules = taxon.load_rules('freeze : name starts "0."\nselect head : name starts "1."\n')
    assert rules.freeze(model) == ["0.weight", "0.bias"]
    assert not model[0].weight.requires_grad and model[1].weight.requires_grad
    head = rules.select(model, "head")
    assert list(head) == ["1.weight", "1.bias"] and head["1.weight"] is model[1].weight
    with pytest.raises(KeyError):
        rules.select(model, "nope")


def test_explain_and_lint():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    rules = taxon.load_rules('group norms : type in {LayerNorm} { weight_decay = 0.0 }\n'
                             'group convs : type in {Conv2d} { weight_decay = 0.1 }\n')
    why = rules.explain(model, "1.weight")
    assert why["joined"] == ["norms"] and "norms" in why["text"]
    codes = [f["code"] for f in rules.lint(model)]
    assert codes, "a group of a type the model lacks is a finding"
    with pytest.raises(taxon.CheckpointError) as error:
        rules.explain(model, "2.weight")
    assert error.value.code == "T0605"


def test_rules_error_carries_the_findings():
    with pytest.raises(taxon.RulesError) as error:
        taxon.load_rules('group a : name starts { lr = 1 }\n')
    finding = error.value.findings[0]
    assert finding["code"].startswith("T0") and finding["line"] == 1 and finding["column"] > 0
    assert "^" in str(error.value)
    with pytest.raises(taxon.RulesError):
        taxon.load_rules("timm/layer_decay", params={"no_such_param": 1})
    with pytest.raises(taxon.CheckpointError):
        taxon.load_rules(str(DATA / "no_such_file.tx"))


@pytest.mark.parametrize("decay", ["0.75", "0.65"])
def test_timm_layer_decay_param_groups_equal_timms_on_every_parameter(decay):
    # tests/data/timm_layer_decay/expected.json: timm's own param_groups_layer_decay (the commit
    # inside), per parameter; the model rebuilt from its dump on the meta device.
    expected = load_dump(DATA / "timm_layer_decay" / "expected.json")
    rules = taxon.load_rules("timm/layer_decay", params={"decay": float(decay), "weight_decay": 0.05})
    for entry in expected["models"]:
        model = module_from_dump(load_dump(ROOT / entry["dump"]))
        names = {id(p): n for n, p in model.named_parameters()}
        got = {}
        for group in rules.param_groups(model, lr=1.0):
            for p in group["params"]:
                got[names[id(p)]] = (group["lr"], group["weight_decay"])
        want = {row["name"]: (row["lr_scale"], row["weight_decay"]) for row in entry["layer_decay"][decay]}
        assert got == want, entry["model"]


def _reference(path):
    state = torch.load(path, map_location="cpu")
    return state


@pytest.mark.parametrize("form", ["model.safetensors", "state_dict.pt", "ddp.pt", "wrapped.pt", "legacy.pt"])
def test_load_checkpoint_reads_every_form_into_the_model(form):
    dump = load_dump(DATA / "dumps" / "vit_tiny.json")
    model = module_from_dump(dump, device="cpu")
    unwrap = {"rules": "prefixes", "plan": "unwrap_ddp"} if form == "ddp.pt" else {}
    report = taxon.load_checkpoint(model, DATA / "ckpt" / "vit_tiny" / form, **unwrap)
    expected = _reference(DATA / "ckpt" / "vit_tiny" / "state_dict.pt")
    state = model.state_dict()
    assert set(expected) <= set(state)
    for name, tensor in expected.items():
        assert torch.equal(state[name], tensor), name
    assert report["load"]["fails"] is False


def test_load_checkpoint_sharded():
    model = module_from_dump(load_dump(DATA / "dumps" / "vit_tiny.json"), device="cpu")
    taxon.load_checkpoint(model, DATA / "ckpt" / "extra" / "vit_sharded" / "model.safetensors.index.json", strict=False)
    assert model.state_dict()["vit.embeddings.cls_token"].abs().sum() > 0


def test_load_checkpoint_with_a_tensor_action_equals_the_cli():
    # The docs/actions.md ViT plan: position embeddings 4x4 -> 6x6; the CLI's output is the reference.
    target = load_dump(DATA / "dumps" / "vit_tiny_target.json")
    model = module_from_dump(target, device="cpu")
    plan = ('plan vit_grid {\n  resample pos_embed where name ends "position_embeddings" '
            '{ prefix_tokens = 1, mode = "bicubic" }\n  load strict = true\n}\n')
    report = taxon.load_checkpoint(model, DATA / "ckpt" / "vit_tiny" / "model.safetensors", rules=plan)
    assert report["load"]["fails"] is False
    grown = model.state_dict()["vit.embeddings.position_embeddings"]
    assert list(grown.shape) == [1, 37, 48]
    source = _reference(DATA / "ckpt" / "vit_tiny" / "state_dict.pt")["vit.embeddings.position_embeddings"]
    grid = source[:, 1:].reshape(1, 4, 4, 48).permute(0, 3, 1, 2)
    want = torch.nn.functional.interpolate(grid, size=(6, 6), mode="bicubic", align_corners=False)
    want = torch.cat([source[:, :1], want.permute(0, 2, 3, 1).reshape(1, 36, 48)], dim=1)
    assert torch.allclose(grown, want, atol=1e-6)


def test_a_failed_load_changes_nothing():
    model = module_from_dump(load_dump(DATA / "dumps" / "vit_tiny_target.json"), device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(taxon.CheckpointError) as error:
        taxon.load_checkpoint(model, DATA / "ckpt" / "vit_tiny" / "model.safetensors")  # 17 tokens where 37 fit
    assert error.value.report["load"]["fails"] is True
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(taxon.CheckpointError) as unreadable:
        taxon.load_checkpoint(model, DATA / "ckpt" / "no_such.pt")
    assert unreadable.value.code.startswith("T06")


def test_apply_writes_what_torch_loads(tmp_path):
    out = tmp_path / "out.pt"
    report = taxon.apply("prefixes", DATA / "ckpt" / "llama_tiny" / "ddp.pt", out, plan="unwrap_ddp")
    assert report["written"] == [str(out)]
    written = torch.load(out)
    expected = _reference(DATA / "ckpt" / "llama_tiny" / "state_dict.pt")
    assert set(written) == set(expected) and all(torch.equal(written[k], expected[k]) for k in expected)


def test_describe_sees_what_pytorch_sees():
    shared = torch.nn.Linear(4, 4)
    model = torch.nn.Sequential(shared, torch.nn.BatchNorm1d(4), shared, torch.nn.Linear(4, 2))
    model[1].register_buffer("scratch", torch.zeros(1), persistent=False)
    model[3].weight.requires_grad_(False)
    dump = taxon.describe(model)
    assert [m["name"] for m in dump["modules"]] == [n for n, _ in model.named_modules(remove_duplicate=False)]
    tensors = {t["name"]: t for t in dump["tensors"]}
    persistent = {n for n, t in tensors.items() if t.get("persistent", True)}
    assert persistent == set(model.state_dict(keep_vars=True))
    assert tensors["2.weight"]["tied_to"] == "0.weight" and "tied_to" not in tensors["0.weight"]
    assert tensors["1.scratch"]["persistent"] is False and tensors["1.running_mean"]["kind"] == "buffer"
    assert tensors["3.weight"]["requires_grad"] is False
    assert {m["name"]: m for m in dump["modules"]}["1"]["mro"][0] == "torch.nn.modules.batchnorm.BatchNorm1d"
    # `shared` is listed under 0 and 2: the second path names the first, as get_submodule() reaches it by either
    assert [m.get("alias_of") for m in dump["modules"]] == [None, None, None, "0", None]
    rules = taxon.load_rules("select frozen_layer : module under {\"2\"}")
    assert list(rules.select(model, "frozen_layer")) == ["0.weight", "0.bias"]
    sys.path.insert(0, str(ROOT / "tools"))
    import dump_model  # the command line's dump is this one

    assert dump_model.model_dump(model) == dump


def test_the_type_stub_names_the_public_api():
    import ast

    stub = pathlib.Path(taxon.__file__).with_name("__init__.pyi")
    tree = ast.parse(stub.read_text())
    named = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert set(taxon.__all__) <= named
    rules_methods = {node.name for cls in tree.body if isinstance(cls, ast.ClassDef) and cls.name == "Rules"
                     for node in cls.body if isinstance(node, ast.FunctionDef)}
    public = {name for name in dir(taxon.Rules) if not name.startswith("_")}
    assert public == rules_methods


def _example(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "python" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_train_loop_trains_freezes_and_reloads():
    _example("train_loop").main()  # asserts the loss falls, frozen tensors stay, the reload is equal


def test_example_linnaeus_config_drives_groups_and_gradnorm():
    groups, excluded = _example("linnaeus_gradnorm").main()
    assert {g["name"] for g in groups} == {"HEADS", "BACKBONE", "DEFAULT"}
    heads = {id(p) for g in groups if g["name"] == "HEADS" for p in g["params"]}
    assert {id(t) for t in excluded.values()} <= heads


def test_groups_that_overlap_are_refused_with_the_tensor_named():
    # linnaeus matches every group independently: this config's NO_DECAY overlaps three groups.
    model = _example("linnaeus_gradnorm").module_from_dump(load_dump(ROOT / "examples" / "dumps" / "mformer_tiny.json"))
    rules = taxon.load_rules(ROOT / "examples" / "linnaeus" / "mformer_groups.yaml")
    with pytest.raises(ValueError, match="is in the groups NO_DECAY and"):
        rules.param_groups(model)


def test_a_dump_is_refused_where_live_tensors_are_returned():
    dump = load_dump(DATA / "dumps" / "vit_tiny.json")
    rules = taxon.load_rules("group all { }\n")
    assert rules.evaluate(dump)["groups"]["all"]["tensors"]  # a dump is fine where data is returned
    with pytest.raises(TypeError, match="torch.nn.Module itself"):
        rules.param_groups(dump)
