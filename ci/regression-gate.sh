#!/usr/bin/env bash
# Regression gate for a CI job guarding a kernel, QEMU or DPDK tree.
#
#   ci/regression-gate.sh BASELINE_RUN_DIR [CONFIG_JSON]
#
# Runs the configured matrix into runs/ci-<timestamp>, writes JUnit/HTML/CSV next to it, and
# compares with the baseline. Exit status: 0 = no significant regression, 1 = regression beyond
# the threshold (the job should fail), 2 = bad input or the host cannot run the matrix.
set -euo pipefail
cd "$(dirname "$0")/.."

baseline=${1:?usage: ci/regression-gate.sh BASELINE_RUN_DIR [CONFIG_JSON]}
config=${2:-suites/ci-gate.json}
out="runs/ci-$(date -u +%Y%m%dT%H%M%SZ)"
vnb=(npx tsx harness/cli/main.ts)

"${vnb[@]}" setup
"${vnb[@]}" run --config "$config" --out "$out"
"${vnb[@]}" report "$out" --format html,csv,junit,json
# Threshold and confidence are the gate's policy: 5 % at 95 % confidence.
"${vnb[@]}" compare "$baseline" "$out" --threshold 5% --confidence 0.95 --fail-on regression \
  --format table,html,junit --out "$out/compare"
