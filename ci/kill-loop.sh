#!/usr/bin/env bash
# Kill soak: start a small `vnetbench run` N times, kill it at a random moment (setup, boot,
# measurement, teardown) with SIGINT, SIGTERM or SIGKILL (then `vnetbench cleanup`), and check
# after each round that nothing is left and the host's own state is unchanged.
#
#   ci/kill-loop.sh N [--seed S] [--backends copy,macvtap] [--cleanup round|all]
#                     [--signals SIGINT,SIGTERM,SIGKILL] [--phases setup,boot,measurement,teardown]
#
# Prints "N rounds, K leftovers"; exit 0 when K = 0, 1 when a round left something, 2 on bad
# arguments. Needs root. Guests boot under the host-wide guest lock ($VNB_GUEST_LOCK, default
# /tmp/vnb-guest.lock), taken once for the whole loop; waiting for it is expected on a shared
# host. The work is done by ci/kill-loop.ts (see there for how phases are hit and checked).
set -euo pipefail
cd "$(dirname "$0")/.."

lock=${VNB_GUEST_LOCK:-/tmp/vnb-guest.lock}

# True when an ancestor of this shell holds the lock (`flock LOCK ci/kill-loop.sh N`): taking it
# again from here would wait for ourselves forever.
held_by_ancestor() {
  local ino pid
  ino=$(stat -c %i "$lock" 2>/dev/null) || return 1
  pid=$$
  while [[ -n "$pid" && "$pid" -gt 1 ]]; do
    if awk -v p="$pid" -v i=":$ino" '$2 == "FLOCK" && $5 == p && substr($6, length($6) - length(i) + 1) == i { f = 1 } END { exit !f }' /proc/locks; then
      return 0
    fi
    pid=$(ps -o ppid= -p "$pid" | tr -d ' ')
  done
  return 1
}

if [[ "${VNB_KILL_LOOP_LOCKED:-}" != 1 ]] && ! held_by_ancestor; then
  echo "kill-loop: waiting for the guest lock $lock ..." >&2
  # -o: the lock stays with flock itself, not inherited by the runs (a QEMU orphaned by SIGKILL
  # must not keep holding it).
  exec flock -o "$lock" env VNB_KILL_LOOP_LOCKED=1 "$0" "$@"
fi

exec node --import tsx ci/kill-loop.ts "$@"
