#!/usr/bin/env bash
# Full validation run: regenerates docs/validation.md, docs/validation/*.png and the raw
# numbers (docs/validation/validation.{json,csv}), then the figure commands into
# benchmarks/out/figures. About 10-20 minutes on 2 cores (serial run; the machine's
# other core is left to the solver's BLAS/MPI helpers and other users).
#
#   benchmarks/validation_full.sh            # uses .venv/bin/fem-peltier, or FEM_PELTIER=...
#   NP=2 benchmarks/validation_full.sh       # under mpirun -n 2
set -euo pipefail
cd "$(dirname "$0")/.."
FP=${FEM_PELTIER:-.venv/bin/fem-peltier}
NP=${NP:-1}
run() {
    if [ "$NP" -gt 1 ]; then "$(dirname "$FP")/mpirun" -n "$NP" "$FP" "$@"; else "$FP" "$@"; fi
}
start=$(date +%s)
run validate --out docs
echo "validate: $(( $(date +%s) - start )) s"
if [ "${FIGURES:-0}" = 1 ]; then
    run figure all --out benchmarks/out/figures
    echo "validate + figures: $(( $(date +%s) - start )) s"
fi
