#!/usr/bin/env bash
# Writes a model dump of N expert weights (model.layers.L.mlp.experts.E.w1.weight, 64 experts a
# layer, [8, 8] float32, module type Linear) to stdout: 30,000 of them make a dump over 4 MiB,
# the size that the command line treats as a large input and reads with two readers.
#   write_expert_dump.sh N MODEL_NAME
set -euo pipefail
count=$1
model=$2
printf '{"format": "model-dump/1", "model": "%s", "tensors": [\n' "$model"
for ((i = 0; i < count; ++i)); do
  ((i)) && printf ','
  printf '{"name":"model.layers.%d.mlp.experts.%d.w1.weight","shape":[8,8],"dtype":"float32","module":"model.layers.%d.mlp.experts.%d.w1","module_type":"Linear"}\n' \
    $((i / 64)) $((i % 64)) $((i / 64)) $((i % 64))
done
printf ']}\n'
