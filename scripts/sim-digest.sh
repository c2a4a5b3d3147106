#!/usr/bin/env bash
# Prints one SHA-256 per sample trace × seed of the simulator's --json output (all policies), so a
# refactor can show the simulator's decisions are byte-identical before and after:
#   scripts/sim-digest.sh > before.txt; (change); scripts/sim-digest.sh | diff before.txt -
# Seeds default to 1-3; pass others as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
for trace in monday-burst steady-day nightly-batch mixed-profiles; do
  for seed in "${seeds[@]}"; do
    sum=$(npx tsx src/cli.ts simulate --trace "$trace" --seed "$seed" --json 2>/dev/null | sha256sum | cut -c1-16)
    echo "$trace seed=$seed $sum"
  done
done
