"""Writes checkpoints as they are found in the wild, and expected.json, into this folder.

Real training code saves more than tensors: Lightning saves its hyperparameters as an OmegaConf
DictConfig (with the class itself under hparams_type) next to user objects such as anemoi's
IndexCollection; research scripts (MAE, DeiT) save their argparse.Namespace and numpy scalars.
taxon reads the data classes among these as data, holds any other class as an opaque record
(never imported or called), and refuses hostile callables (issue 15).

    lightning_hydra.ckpt  a Lightning checkpoint: hyper_parameters = {config: DictConfig,
                          data_indices: wildclasses.IndexCollection (opaque, 2 tensors),
                          supporting_arrays: numpy arrays}, hparams_type = DictConfig
    research.pth          MAE/DeiT style: model, SGD optimizer, epoch, args (Namespace with a
                          PosixPath), best_acc1 (numpy.float64), scaler
    data_zoo.pt           one entry per data class taxon reads (numpy, datetime, collections,
                          pathlib, omegaconf, builtins), pickle protocol 2
    data_zoo_p4.pt        the same objects with pickle_protocol=4
    opaque_in_list.pt     an opaque object (wildclasses.EMACallback, holding a tensor) in a list

expected.json is computed here from the live objects (see its "conventions"). Run with Debian's
python3 (torch 1.13, numpy 1.24, omegaconf 2.2); the fixtures are committed:
    /usr/bin/python3 tests/data/wild/make_wild_checkpoints.py
"""
import argparse
import collections
import datetime
import json
import os
import pathlib
import pickletools
import sys
import zipfile

import numpy as np
import omegaconf
import torch
from omegaconf import DictConfig, OmegaConf

HERE = pathlib.Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures
sys.path.insert(0, str(HERE))
import wildclasses  # noqa: E402  (the fixtures must pickle it as `wildclasses.X`)


# ---- lightning_hydra.ckpt -------------------------------------------------------------------------
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(4, 3)
        self.norm = torch.nn.BatchNorm1d(3)  # running_mean, running_var, num_batches_tracked (int64)
        self.head = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.norm(self.encoder(x)))


class LitModule(torch.nn.Module):  # a LightningModule keeps its network under self.model
    def __init__(self):
        super().__init__()
        self.model = Net()


def lightning_hydra():
    torch.manual_seed(0)
    module = LitModule()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    module.model(torch.randn(5, 4)).square().mean().backward()
    optimizer.step()
    scheduler.step()
    config = OmegaConf.create({
        "model": {"name": "graphtransformer", "num_channels": 8, "dropout": 0.1, "activation": "GELU",
                  "layers": [2, 4, 4], "bias": True, "processor": None},
        "training": {"lr": 0.001, "lr_copy": "${training.lr}", "max_epochs": 3, "precision": "16-mixed",
                     "loss_weights": {"z": 1.0, "t": 0.5},
                     "stages": [{"name": "warmup", "steps": 10}, {"name": "main", "steps": 100}]},
        "data": {"resolution": "o96", "variables": ["z", "t", "u", "v", "tp", "lsm"], "frequency": "6h"},
        "seed": 42,
        "run_name": None,
    })
    data_indices = wildclasses.IndexCollection({"z": 0, "t": 1, "u": 2, "v": 3, "tp": 4, "lsm": 5},
                                               forcing=["lsm"], diagnostic=["tp"])
    supporting_arrays = {
        "latitudes": np.linspace(-90.0, 90.0, 5),  # float64
        "longitudes": np.linspace(0.0, 288.0, 5, dtype=np.float32),
        "grid_indices": np.arange(5, dtype=np.int64),
        "land_mask": np.array([True, False, False, True, False]),
    }
    monitor = ("ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, "
               "'every_n_epochs': 1, 'train_time_interval': None}")
    return {
        "epoch": 2,
        "global_step": 30,
        "pytorch-lightning_version": "2.1.3",
        "state_dict": module.state_dict(),
        "loops": {"fit_loop": {"state_dict": {}, "epoch_loop.state_dict": {"_batches_that_stepped": 30},
                               "epoch_progress": {"total": {"ready": 3, "started": 3, "processed": 3, "completed": 2}}}},
        "callbacks": {monitor: {
            "monitor": "val_loss", "best_model_score": torch.tensor(0.25), "best_model_path": "/runs/1/epoch=1.ckpt",
            "current_score": torch.tensor(0.3), "dirpath": "/runs/1", "best_k_models": {"/runs/1/epoch=1.ckpt": torch.tensor(0.25)},
            "kth_best_model_path": "/runs/1/epoch=1.ckpt", "kth_value": torch.tensor(0.25), "last_model_path": ""}},
        "optimizer_states": [optimizer.state_dict()],
        "lr_schedulers": [scheduler.state_dict()],
        "hparams_name": "kwargs",
        "hyper_parameters": {"config": config, "data_indices": data_indices, "supporting_arrays": supporting_arrays},
        "hparams_type": DictConfig,  # Lightning stores type(hparams) for OmegaConf hparams: the class itself
    }


# ---- research.pth ---------------------------------------------------------------------------------
class TinyViT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, 8))
        self.pos_embed = torch.nn.Parameter(torch.randn(1, 5, 8) * 0.02)
        self.patch_embed = torch.nn.Module()
        self.patch_embed.proj = torch.nn.Conv2d(3, 8, 4, 4)
        self.norm = torch.nn.LayerNorm(8)
        self.head = torch.nn.Linear(8, 5)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(x)[:, 0])


def research():
    torch.manual_seed(1)
    model = TinyViT()
    optimizer = torch.optim.SGD(model.parameters(), lr=5e-4, momentum=0.9, weight_decay=0.05)
    torch.nn.functional.cross_entropy(model(torch.randn(2, 3, 8, 8)), torch.tensor([1, 3])).backward()
    optimizer.step()
    args = argparse.Namespace(model="deit_tiny_patch16_224", lr=5e-4, batch_size=64, epochs=300,
                              output_dir=pathlib.Path("/checkpoints/deit_tiny"), drop_path=0.1, smoothing=0.1,
                              milestones=[30, 60, 90], resume="", layer_decay=None, dist_eval=True, seed=0)
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": 299,
        "args": args,
        "best_acc1": np.float64(72.19999694824219),
        "scaler": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                   "_growth_tracker": 0},
    }


# ---- data_zoo.pt: one entry per data class ---------------------------------------------------------
def data_zoo():
    torch.manual_seed(2)
    state = collections.OrderedDict()
    state["embed.weight"] = torch.randn(4, 3).to(torch.bfloat16)
    state["proj.weight"] = torch.randn(2, 3, dtype=torch.float16)
    state["proj.bias"] = torch.zeros(2)
    state["steps"] = torch.tensor(11, dtype=torch.int64)
    ist = datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")
    extras = {
        # numpy: arrays of several dtypes and layouts, scalars, a dtype
        "np_float32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "np_float64": np.array([0.5, -1.25, 1e300]),
        "np_float16": np.array([1.5, -2.0], dtype=np.float16),
        "np_int8": np.array([-128, 0, 127], dtype=np.int8),
        "np_uint8": np.array([0, 255], dtype=np.uint8),
        "np_int64": np.array([2**40, -3], dtype=np.int64),
        "np_bool": np.array([[True, False], [False, True]]),
        "np_complex64": np.array([1 + 2j, -0.5j], dtype=np.complex64),
        "np_unicode": np.array(["z", "tp", "lsm", "hello"], dtype="<U5"),
        "np_big_endian": np.array([1, 2, 3], dtype=">i4"),
        "np_fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
        "np_zero_d": np.array(3.5),
        "np_empty": np.zeros((0, 3), dtype=np.float32),
        "np_object": np.array([1, "two", None, 3.0], dtype=object),
        "np_int64_scalar": np.int64(-7),
        "np_float32_scalar": np.float32(0.1),
        "np_bool_scalar": np.bool_(True),
        "np_dtype": np.dtype(">i4"),
        # datetime
        "datetime_naive": datetime.datetime(2024, 2, 29, 13, 45, 30, 123456),
        "datetime_utc": datetime.datetime(2024, 2, 29, 13, 45, 30, tzinfo=datetime.timezone.utc),
        "datetime_ist": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=ist),
        "date": datetime.date(2023, 7, 14),
        "time": datetime.time(6, 30, 0, 250),
        "timedelta": datetime.timedelta(days=-1, seconds=3600, microseconds=5),
        "timezone": ist,
        # collections
        "defaultdict_list": collections.defaultdict(list, {"a": [1, 2], "b": []}),
        "defaultdict_int": collections.defaultdict(int, {"x": 3}),
        "deque": collections.deque([1, "two", 3.0], maxlen=5),
        "counter": collections.Counter("abracadabra"),
        "ordered_dict": collections.OrderedDict([("zeta", 1), ("alpha", 2)]),
        # builtins
        "set": {3, 1, 2},
        "frozenset": frozenset({"x", "y"}),
        "slice": slice(1, None, 2),
        "complex": complex(1.5, -2.0),
        "bytearray": bytearray(b"\x00\xffraw"),
        "bytes": b"\x00\x01\xfe\xff",
        "tuple": ("a", 1, (2.5, None)),
        "big_int": 2**70 + 123,
        "big_negative_int": -(2**65),
        # pathlib
        "pure_posix_path": pathlib.PurePosixPath("/data/era5/o96.zarr"),
        "posix_path": pathlib.PosixPath("/checkpoints/run-1"),
        "pure_windows_path": pathlib.PureWindowsPath("C:/data/x.pt"),
        # omegaconf and argparse
        "list_config": OmegaConf.create([1, "two", {"three": 3}, [4.0]]),
        "namespace": argparse.Namespace(a=1, nested=argparse.Namespace(b=[2])),
    }
    return {"state_dict": state, "extras": extras}


# ---- opaque_in_list.pt ----------------------------------------------------------------------------
def opaque_in_list():
    torch.manual_seed(3)
    state = collections.OrderedDict()
    state["fc.weight"] = torch.randn(3, 2)
    state["fc.bias"] = torch.randn(3)
    return {
        "state_dict": state,
        "callbacks": [{"name": "lr_monitor", "logging_interval": "step"},
                      wildclasses.EMACallback(0.999, state["fc.weight"].clone(), 120)],
        "epoch": 5,
    }


# ---- expected.json --------------------------------------------------------------------------------
DATA_TYPES = (dict, list, tuple, set, frozenset, str, bytes, bytearray, int, float, complex, bool, type(None),
              slice, collections.deque, torch.Tensor, torch.dtype, torch.device, torch.Size, np.ndarray, np.generic,
              np.dtype, argparse.Namespace, omegaconf.Container, pathlib.PurePath, datetime.date, datetime.time,
              datetime.timedelta, datetime.tzinfo, type)


def tensors_in(obj, seen=None):
    """Distinct tensors reachable from obj (containers, and objects' __dict__)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return 1
    if isinstance(obj, dict):
        return sum(tensors_in(k, seen) + tensors_in(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
        return sum(tensors_in(v, seen) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return tensors_in(vars(obj), seen)
    return 0


def opaque_objects(obj, path=""):
    """The outermost objects that are not data, with taxon's path spelling."""
    if isinstance(obj, (dict, argparse.Namespace)):
        items = vars(obj).items() if isinstance(obj, argparse.Namespace) else obj.items()
        return [o for k, v in items for o in opaque_objects(v, f"{path}.{k}" if path else str(k))]
    if isinstance(obj, (list, tuple)):
        return [o for i, v in enumerate(obj) for o in opaque_objects(v, f"{path}[{i}]")]
    if isinstance(obj, DATA_TYPES):
        return []  # omegaconf containers hold primitives only (allow_objects is off)
    cls = type(obj)
    return [{"path": path, "class": f"{cls.__module__}.{cls.__qualname__}", "tensors": tensors_in(obj)}]


def cycles(obj, path="", on_path=None, found=None):
    """Paths where an object reaches one that contains it (attributes spelled `.name`)."""
    on_path = {} if on_path is None else on_path
    found = [] if found is None else found
    if id(obj) in on_path:
        found.append({"at": path, "back_to": on_path[id(obj)] or "<root>"})
        return found
    if isinstance(obj, dict):
        children = [(f"{path}.{k}" if path else str(k), v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, torch.Tensor)):
        children = [(f"{path}.{k}", v) for k, v in vars(obj).items()]
    else:
        return found
    on_path[id(obj)] = path
    for child_path, child in children:
        cycles(child, child_path, on_path, found)
    del on_path[id(obj)]
    return found


def find_state_dict(root):
    for key in ("state_dict", "model_state_dict", "model", "module"):
        value = root.get(key)
        if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
            return key, value
    raise ValueError("no state dict")


def pickle_summary(path):
    """Opcodes and globals of the file's data.pkl, read with pickletools (nothing is unpickled)."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))
    opcodes, globals_, memo, recent = set(), set(), {}, []
    for op, arg, _ in pickletools.genops(data):
        opcodes.add(op.name)
        if op.name == "GLOBAL":
            globals_.add(arg.replace(" ", "."))
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            recent.append(arg)
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            recent.append(memo.get(arg))
        elif op.name == "STACK_GLOBAL":
            globals_.add(f"{recent[-2]}.{recent[-1]}")
            recent.append(None)
        elif op.name in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
            memo[len(memo) if op.name == "MEMOIZE" else arg] = recent[-1] if recent else None
            continue
        else:
            recent.append(None)
        del recent[:-2]
    return len(data), sorted(opcodes), sorted(globals_)


def describe(obj, path):
    key, state = find_state_dict(obj)
    found = cycles(obj)
    nbytes, opcodes, globals_ = pickle_summary(path)
    return {
        "top_level": list(obj.keys()),
        "state_dict": key,
        "tensors": [{"name": name, "shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch.")}
                    for name, t in state.items()],
        "objects": opaque_objects(obj),
        "safetensors_left_out": [k for k in obj if k != key],
        "data_pkl_bytes": nbytes,
        "opcodes": opcodes,
        "globals": globals_,
        "cycles": len(found),
        "cycle_examples": found[:3],
    }


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":  # sets of strings pickle in hash order: make it fixed
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    fixtures = {
        "lightning_hydra.ckpt": (lightning_hydra(), 2),
        "research.pth": (research(), 2),
        "data_zoo.pt": (data_zoo(), 2),
        "data_zoo_p4.pt": (data_zoo(), 4),
        "opaque_in_list.pt": (opaque_in_list(), 2),
    }
    files = {}
    for name, (obj, protocol) in fixtures.items():
        torch.save(obj, HERE / name, pickle_protocol=protocol)
        files[name] = {"pickle_protocol": protocol, **describe(obj, HERE / name)}
        print(f"{name}: {(HERE / name).stat().st_size} bytes, {files[name]['cycles']} cycles, "
              f"objects {[o['path'] for o in files[name]['objects']]}")
    expected = {
        "format": "taxon-wild-expected/1",
        "generator": "tests/data/wild/make_wild_checkpoints.py",
        "versions": {"torch": torch.__version__, "numpy": np.__version__, "omegaconf": omegaconf.__version__,
                     "python": sys.version.split()[0]},
        "conventions": {
            "top_level": "the root dict's keys, in order",
            "state_dict": "the root key taxon takes the state dict from (state_dict, model_state_dict, model, module)",
            "tensors": "the state dict's tensors in order; dtype is taxon's name (torch's without `torch.`)",
            "objects": "opaque objects (classes that are not data), outermost only: path = dict keys joined by '.', "
                       "Namespace attributes likewise, list/tuple indices as [i]; class = module.QualName; tensors = "
                       "distinct tensors reachable inside it",
            "safetensors_left_out": "top-level entries a .safetensors output cannot hold (all but the state dict)",
            "opcodes, globals": "what data.pkl holds, read with pickletools (protocol-2 pickles spell builtins "
                                "`__builtin__`, and int `__builtin__.long`)",
            "cycles": "places where an object reaches one that contains it (Python's memo makes these; omegaconf "
                      "nodes' _parent points back at their container); cycle_examples shows three",
        },
        "files": files,
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
