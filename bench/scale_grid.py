"""Does taxon's cost grow linearly with the tensors? Times `taxon eval` (text and --format json)
and `taxon apply` (a rename plan, safetensors to safetensors) on synthetic MoE models of 1k, 10k,
100k and 1M tensors, with each run's wall time and peak memory (/usr/bin/time), and the growth
from one size to the next: 10x the tensors should cost about 10x, never 100x.

    python3 bench/scale_grid.py [--taxon build/tools/taxon] [--work /tmp/taxon-scale] [--sizes 1000,10000,100000,1000000]

No torch needed. The dumps and checkpoints are written once into --work and reused.
"""
import argparse
import json
import os
import pathlib
import struct
import subprocess

RULES = """
let expert = name ~ /^model\\.layers\\.(?P<layer>\\d+)\\.mlp\\.experts\\.(?P<e>\\d+)\\./
let depth = max(layer where expert) + 1
defaults { weight_decay = 0.05 }
set layer_decay : expert { lr_mult = 0.9 ** (depth - layer) }
group no_decay : name ends ".bias" or rank == 1 { weight_decay = 0 }
group experts : expert { }
group rest { }

plan rename {
  rename /^model\\.layers\\.(\\d+)\\./ -> "blocks.$1."
  load strict = false
}
"""


def names(count):
    # Layers of 64 experts with 3 weights each and a norm: 193 tensors a layer.
    out = []
    layer = 0
    while len(out) < count:
        out.append((f"model.layers.{layer}.norm.weight", [8], "RMSNorm"))
        for expert in range(64):
            for weight in ("w1", "w2", "w3"):
                out.append((f"model.layers.{layer}.mlp.experts.{expert}.{weight}.weight", [8, 8], "Linear"))
        layer += 1
    return out[:count]


def write_dump(path, tensors):
    with open(path, "w") as out:
        out.write('{"format": "model-dump/1", "model": "synthetic MoE", "tensors": [\n')
        for i, (name, shape, kind) in enumerate(tensors):
            row = {"name": name, "shape": shape, "dtype": "float32", "module": name.rpartition(".")[0], "module_type": kind}
            out.write(("," if i else "") + json.dumps(row, separators=(",", ":")) + "\n")
        out.write("]}\n")


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, shape, _ in tensors:
        size = 4 * (shape[0] * (shape[1] if len(shape) > 1 else 1))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    if len(text) > 100_000_000:  # the safetensors format's limit: such a file is not valid
        return False
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        out.write(bytes(offset))
    return True


def timed(command):
    # (seconds, peak MiB) of one run, by GNU time.
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    seconds, kib = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def best_of(command, runs):
    results = [timed(command) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxon", default="build/tools/taxon")
    parser.add_argument("--work", default="/tmp/taxon-scale")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs per cell")
    args = parser.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "rules.tx").write_text(RULES)
    sizes = [int(size) for size in args.sizes.split(",")]
    columns = ["eval text", "eval json", "apply"]
    rows = []
    for size in sizes:
        tensors = names(size)
        dump, checkpoint = work / f"moe_{size}.json", work / f"moe_{size}.safetensors"
        if not dump.exists():
            write_dump(dump, tensors)
        valid = checkpoint.exists() or write_safetensors(checkpoint, tensors)
        out = work / "out.safetensors"
        commands = [
            [args.taxon, "eval", str(work / "rules.tx"), "--dump", str(dump)],
            [args.taxon, "eval", str(work / "rules.tx"), "--dump", str(dump), "--format", "json"],
            [args.taxon, "apply", str(work / "rules.tx"), "--plan", "rename", str(checkpoint), "-o", str(out), "--force"],
        ]
        # A safetensors header over 100 MB (about a million tensors) is not a valid file: no apply then.
        rows.append((size, [best_of(command, args.runs) if valid or "apply" not in command else None for command in commands]))
        if out.exists():
            os.remove(out)
        print(f"{size:>9,} tensors: " + "  ".join(
            f"{c} {cell[0]:.3f} s {cell[1]:.0f} MiB" if cell else f"{c} -- (header over 100 MB)"
            for c, cell in zip(columns, rows[-1][1])), flush=True)
    print("\ngrowth to the next size (time ratio / tensor ratio; 1.0 is linear):")
    for (small, a), (large, b) in zip(rows, rows[1:]):
        factor = large / small
        print(f"{small:>9,} -> {large:,}: " + "  ".join(
            f"{c} {(y[0] / x[0]) / factor:.2f}" if x and y and x[0] > 0 else f"{c} --" for c, x, y in zip(columns, a, b)))


if __name__ == "__main__":
    main()
