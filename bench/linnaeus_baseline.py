"""Times linnaeus's own parameter grouping against `taxon eval` on the same config and model.

    /usr/bin/python3 bench/linnaeus_baseline.py [--taxon build/tools/taxon] \
        [--dump /tmp/deepseek_v3.json] [--iterations 6] [--linnaeus-git-dir DIR]

The model is the 91,991-tensor DeepSeek-V3 layout (`python3 bench/make_deepseek_v3_dump.py
/tmp/deepseek_v3.json` writes the dump); the config is bench/deepseek_v3_groups.yaml (38 groups).
It prints min and median seconds over the iterations of:
  - linnaeus build_optimizer: what linnaeus's trainer (main.py) calls; it groups the parameters
    (re-walking named_parameters() for every group) and then builds one AdamW per group, which
    on meta tensors is under 1% of its time (0.02 s when measured apart);
  - linnaeus inspect_multilr_filters: linnaeus's grouping helper, the same filters over a single
    walk, returning the names of every group and DEFAULT;
  - `taxon eval RULES --dump DUMP --format json` and `--format text`: a whole process (start,
    reading the YAML and the 21 MB dump, evaluating, printing), output to /dev/null;
and the ratios linnaeus / taxon. The two taxon commands swap places every other iteration (an even
number of iterations gives each the first place as often). With --warm each taxon command is run
once, untimed, right before its timed run. Why the first place, and --warm, matter: on a virtual
machine whose hypervisor takes back memory the guest has freed (a virtio balloon with free page
reporting), a process that starts seconds after the last one pays the host's faults on every fresh
page it touches, which a second run straight after the first does not; linnaeus, timed inside a
process that has run before, never pays them.

linnaeus runs in this process on a stand-in model built from the dump (an nn.Module tree with the
dump's module classes and meta-device parameters); building it and loading the config are not
timed, as a trainer has both already.

linnaeus is not vendored: its files are taken with `git show` from the git dir (or work tree)
given by --linnaeus-git-dir or $LINNAEUS_GIT_DIR, and the commit is printed. Needs torch
(Debian's /usr/bin/python3 has 1.13) and PyYAML. The script then checks that every tensor lands
in the same groups under linnaeus and taxon, and exits 1 if any does not.
"""
import argparse
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# What `from linnaeus.optimizers.build import build_optimizer` and unified_filtering import.
LINNAEUS_FILES = [
    "linnaeus/__init__.py", "linnaeus/utils/__init__.py", "linnaeus/utils/param_filters.py",
    "linnaeus/utils/unified_filtering.py", "linnaeus/utils/debug_utils.py",
    "linnaeus/utils/distributed.py", "linnaeus/utils/logging/__init__.py",
    "linnaeus/utils/logging/logger.py", "linnaeus/optimizers/__init__.py",
    "linnaeus/optimizers/build.py", "linnaeus/optimizers/ademamix.py",
    "linnaeus/optimizers/muon.py", "linnaeus/optimizers/multi_optimizer.py",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--taxon", default=str(ROOT / "build/tools/taxon"))
    parser.add_argument("--dump", default="/tmp/deepseek_v3.json")
    parser.add_argument("--rules", default=str(ROOT / "bench/deepseek_v3_groups.yaml"))
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--warm", action="store_true",
                        help="run each taxon command once, untimed, right before its timed run (see above)")
    parser.add_argument("--linnaeus-git-dir", default=os.environ.get("LINNAEUS_GIT_DIR"),
                        help="a clone (or git dir) of https://github.com/polli-labs/linnaeus (default: $LINNAEUS_GIT_DIR)")
    args = parser.parse_args()
    if not args.linnaeus_git_dir:
        parser.error("name a clone of https://github.com/polli-labs/linnaeus: --linnaeus-git-dir DIR or LINNAEUS_GIT_DIR=DIR")
    return args


def import_linnaeus(git_dir, workdir):
    """Writes linnaeus's files at HEAD of git_dir under workdir and imports them from there.
    `git show` per file rather than `git archive`: a partial mirror lacks unrelated blobs."""
    def git(*args):
        result = subprocess.run(["git", "-C", git_dir, *args], capture_output=True)
        if result.returncode != 0:
            sys.exit(f"git -C {git_dir} {' '.join(args)}: {result.stderr.decode().strip()}\n"
                     "pass linnaeus's git dir or work tree with --linnaeus-git-dir")
        return result.stdout
    commit = git("rev-parse", "HEAD").decode().strip()
    for path in LINNAEUS_FILES:
        target = Path(workdir, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git("show", f"{commit}:{path}"))
    # yacs (a type annotation in debug_utils) and termcolor (log colours) play no part in
    # grouping; stand in for them where they are not installed.
    stubs = {"yacs": {"yacs": {}, "yacs.config": {"CfgNode": dict}},
             "termcolor": {"termcolor": {"colored": lambda text, *args, **kwargs: text}}}
    for package, stub_modules in stubs.items():
        if importlib.util.find_spec(package) is None:
            for name, attributes in stub_modules.items():
                sys.modules[name] = types.ModuleType(name)
                sys.modules[name].__dict__.update(attributes)
    # A configured "linnaeus" logger, as after linnaeus's create_logger, at WARNING: otherwise
    # get_main_logger() turns on INFO for the root logger and the timings include console output.
    linnaeus_logger = logging.getLogger("linnaeus")
    linnaeus_logger.addHandler(logging.StreamHandler())
    linnaeus_logger.setLevel(logging.WARNING)
    sys.path.insert(0, workdir)
    from linnaeus.optimizers.build import build_optimizer
    from linnaeus.utils.unified_filtering import inspect_multilr_filters
    return commit, build_optimizer, inspect_multilr_filters


class Config(dict):
    """linnaeus reads its config as a yacs CfgNode: a dict whose keys are also attributes
    (and a missing one is an AttributeError, which build_optimizer's hasattr checks rely on)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    @classmethod
    def wrap(cls, value):
        if isinstance(value, dict):
            return cls({key: cls.wrap(item) for key, item in value.items()})
        return value


def build_model(dump):
    """An nn.Module tree with the dump's module paths, one class per module type (linnaeus's
    layer_type filter reads __class__.__name__), and a meta-device parameter per tensor. torch
    1.13 has no float8 dtype; the filters read names, ranks and owners only, so dtypes are left
    at the default."""
    import torch
    from torch import nn

    classes, modules = {}, {}
    types_by_path = {module["name"]: module["type"] for module in dump["modules"]}

    def module_at(path):
        if path not in modules:
            kind = types_by_path.get(path, "Module")
            modules[path] = classes.setdefault(kind, type(kind, (nn.Module,), {}))()
            if path:
                parent, _, child = path.rpartition(".")
                module_at(parent).add_module(child, modules[path])
        return modules[path]

    for module in dump["modules"]:
        module_at(module["name"])
    for tensor in dump["tensors"]:
        owner = tensor["module"]
        local = tensor["name"][len(owner) + 1:] if owner else tensor["name"]
        parameter = nn.Parameter(torch.empty(tensor["shape"], device="meta"))
        module_at(owner).register_parameter(local, parameter)
    return module_at("")


def run_taxon(taxon, rules, dump, output_format, stdout=subprocess.DEVNULL):
    result = subprocess.run([taxon, "eval", rules, "--dump", dump, "--format", output_format],
                            stdout=stdout, stderr=subprocess.PIPE)
    if result.returncode != 0:
        sys.exit(f"taxon eval --format {output_format} failed ({result.returncode}):\n"
                 f"{result.stderr.decode()}")
    return result.stdout


def groups_by_name(groups):
    """{group: [names]} -> {name: frozenset of groups}; a name in no group is absent."""
    by_name = {}
    for group, names in groups.items():
        for name in names:
            by_name.setdefault(name, set()).add(group)
    return {name: frozenset(found) for name, found in by_name.items()}


def main():
    args = parse_args()
    dump = json.loads(Path(args.dump).read_text())
    config = Config.wrap(yaml.safe_load(Path(args.rules).read_text()))
    workdir = tempfile.TemporaryDirectory(prefix="linnaeus-")
    commit, build_optimizer, inspect_multilr_filters = import_linnaeus(
        args.linnaeus_git_dir, workdir.name)
    print(f"linnaeus {commit} ({args.linnaeus_git_dir})")
    print(f"taxon    {args.taxon}")
    start = time.perf_counter()
    model = build_model(dump)
    print(f"{args.dump}: {len(dump['tensors'])} tensors, {len(dump['modules'])} modules; "
          f"stand-in model built in {time.perf_counter() - start:.1f} s (not timed)")
    groups = [key for key, value in config.OPTIMIZER.PARAMETER_GROUPS.items()
              if key != "DEFAULT" and isinstance(value, dict)]
    print(f"{args.rules}: {len(groups)} groups + DEFAULT; {args.iterations} iterations")

    # The four measurements take turns within each iteration, so that load from other work on
    # the machine (it is shared) falls on all of them alike rather than on whichever ran then.
    # The two taxon runs swap places every other iteration: the one that follows linnaeus starts
    # on memory the machine may have taken back meanwhile (a virtual machine's balloon), a cost
    # that fell on the JSON run every time when it always came first.
    measures = {
        "linnaeus build_optimizer": lambda: build_optimizer(config, model),
        "linnaeus inspect_multilr_filters": lambda: inspect_multilr_filters(model, config),
        "taxon eval --format json": lambda: run_taxon(args.taxon, args.rules, args.dump, "json"),
        "taxon eval --format text": lambda: run_taxon(args.taxon, args.rules, args.dump, "text"),
    }
    seconds = {label: [] for label in measures}
    last = {}
    labels = list(measures)
    for iteration in range(args.iterations):
        order = labels if iteration % 2 == 0 else labels[:2] + labels[:1:-1]
        for label in order:
            measure = measures[label]
            if args.warm and label.startswith("taxon"):
                measure()
            start = time.perf_counter()
            last[label] = measure()
            seconds[label].append(time.perf_counter() - start)

    print(f"\n{'':34s} {'min':>9s} {'median':>9s}")
    for label, times in seconds.items():
        print(f"{label:34s} {min(times):8.3f}s {statistics.median(times):8.3f}s")
    print("\nratio linnaeus / taxon           by median   by min")
    for mine in ("build_optimizer", "inspect_multilr_filters"):
        for output_format in ("json", "text"):
            ours = seconds[f"linnaeus {mine}"]
            theirs = seconds[f"taxon eval --format {output_format}"]
            by_median = statistics.median(ours) / statistics.median(theirs)
            print(f"  {mine:24s} / taxon {output_format} {by_median:8.1f}x"
                  f" {min(ours) / min(theirs):8.1f}x")

    # Agreement: the groups each name is in. build_optimizer's result holds parameters, so its
    # optimizers are mapped back to names by identity; it leaves out groups that matched nothing
    # (and DEFAULT when empty), which changes no name's set.
    name_of = {id(parameter): name for name, parameter in model.named_parameters()}
    from_build = {group: [name_of[id(p)] for param_group in optimizer.param_groups
                          for p in param_group["params"]]
                  for group, optimizer in last["linnaeus build_optimizer"].optimizers.items()}
    from_inspect = {group: info["matched_names"]
                    for group, info in last["linnaeus inspect_multilr_filters"].items()}
    taxon_json = json.loads(run_taxon(args.taxon, args.rules, args.dump, "json",
                                      stdout=subprocess.PIPE))
    from_taxon = {group: entry["tensors"] for group, entry in taxon_json["groups"].items()}
    taxon_sets = groups_by_name(from_taxon)
    names = [tensor["name"] for tensor in dump["tensors"]]
    print(f"\nagreement with taxon --format json on {len(names)} names "
          f"({len(taxon_json['overlaps'])} in several groups under taxon):")
    failed = False
    for label, linnaeus_groups in (("build_optimizer", from_build),
                                   ("inspect_multilr_filters", from_inspect)):
        linnaeus_sets = groups_by_name(linnaeus_groups)
        differ = [name for name in names
                  if linnaeus_sets.get(name, frozenset()) != taxon_sets.get(name, frozenset())]
        print(f"  {label:24s} {len(names) - len(differ)} agree, {len(differ)} disagree")
        for name in differ[:5]:
            print(f"    {name}: linnaeus {sorted(linnaeus_sets.get(name, ()))}, "
                  f"taxon {sorted(taxon_sets.get(name, ()))}")
        failed |= bool(differ)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
