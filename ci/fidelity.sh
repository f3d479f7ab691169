#!/usr/bin/env bash
# Fidelity check: the harness's copy and macvtap TCP figures against a hand-made run of the same
# topology, in one sitting.
#
#   ci/fidelity.sh [--rounds N] [--duration S] [--iterations N] [--warmup S] [--size BYTES]
#                  [--accel tcg|kvm] [--image harness|newest|DIR] [--keep]
#
# The hand-made half does not use the harness's TypeScript: it builds the embedded topology with
# plain `ip` (peer namespace with a veth end at 198.18.0.1/24, guest namespace with the other end;
# copy: a tap bridged to it, macvtap: a macvtap in bridge mode on it, /dev/tapN opened here and
# passed to QEMU as fd 3), boots QEMU with the same guest image and the same arguments as
# harness/guest/cmdline.ts, talks to the guest agent over its virtio-serial socket
# (ci/fidelity-helper.py), and runs netperf TCP_STREAM / TCP_MAERTS from the guest against a
# netserver in the peer namespace, with the harness's method (offloads on, one warm-up run, then
# N timed runs, a fresh netserver per cell). The harness half is
#   vnetbench run --backends copy,macvtap --workloads TCP_STREAM,TCP_MAERTS --sizes 16384 ...
# Order per round: hand-made copy, harness (copy then macvtap), hand-made macvtap, so each
# backend's two measurements sit next to each other in time. It prints, per backend and workload,
# both means, their ratio (harness / hand-made) and whether it is within 10 %, and compares the
# QEMU command lines (the harness's, from its manifest, with ours).
#
# The guest image is the one the harness uses (`vnetbench image build` names it; it builds it
# only if it is missing, and boots nothing). `--image newest` takes the newest directory in
# .cache/images instead, `--image DIR` a given one. The newest is not always the harness's: tests
# leave images built from other inputs (a user kernel, an extra initrd) in the same cache.
#
# Every object it creates is named vnbfid-<pid>-* / vnbfid<pid>* (the harness's are vnb-<6 hex>-*
# and vnb<6 hex>*, so neither's cleanup touches the other's), recorded as it is made, and removed
# on exit, error, SIGINT and SIGTERM. Links exist only inside its two namespaces.
#
# Exit status: 0 once the table is printed (a ratio outside 10 % is a finding, not a failure);
# 1 when something broke (a guest that did not boot, a netperf that failed, a missing harness
# cell); 2 for bad arguments. Needs root. Boots guests: on a shared host serialise it with the
# other guest jobs, e.g.  flock /tmp/vnb-guest.lock ci/fidelity.sh
set -euo pipefail
{ # The whole script is one compound command, parsed before it runs: editing (or git-updating)
  # the file while a run is in flight cannot change what that run executes.
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=1 DURATION=10 ITERATIONS=3 WARMUP=1 SIZE=16384 ACCEL=tcg KEEP=0 IMAGE_CHOICE=harness
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "ci/fidelity.sh: $1 wants a positive integer, got '$2'" >&2; exit 2; }; }
while (($#)); do
  case $1 in
  --rounds) posint "$1" "${2-}"; ROUNDS=$2; shift 2 ;;
  --duration) posint "$1" "${2-}"; DURATION=$2; shift 2 ;;
  --iterations) posint "$1" "${2-}"; ITERATIONS=$2; shift 2 ;;
  --warmup) posint "$1" "${2-}"; WARMUP=$2; shift 2 ;;
  --size) posint "$1" "${2-}"; SIZE=$2; shift 2 ;;
  --accel) [[ ${2-} == tcg || ${2-} == kvm ]] || usage; ACCEL=$2; shift 2 ;;
  --image) [[ -n ${2-} ]] || usage; IMAGE_CHOICE=$2; shift 2 ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage ;;
  *) echo "ci/fidelity.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

BACKENDS=(copy macvtap)
WORKLOADS=(TCP_STREAM TCP_MAERTS)
HELPER=(python3 "$ROOT/ci/fidelity-helper.py")
QEMU=qemu-system-x86_64
MEM_MIB=512 SMP=1
PEER_IP=198.18.0.1 GUEST_IP=198.18.0.2 PREFIX_LEN=24
PORT=12865
# The selectors harness/workloads/netperf.ts asks for (the client's work is the same).
SELECTORS=THROUGHPUT,THROUGHPUT_UNITS,ELAPSED_TIME,PROTOCOL,DIRECTION,LOCAL_SEND_SIZE,REMOTE_SEND_SIZE,REQUEST_SIZE,RESPONSE_SIZE,LOCAL_BYTES_SENT,REMOTE_BYTES_RECVD,LOCAL_SEND_CALLS,REMOTE_RECV_CALLS,LOCAL_TRANSPORT_RETRANS,REMOTE_TRANSPORT_RETRANS,TRANSACTION_RATE,RT_LATENCY,MEAN_LATENCY,MIN_LATENCY,MAX_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,STDDEV_LATENCY

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "ci/fidelity.sh: $*" >&2; exit 1; }

# ---- preflight ----------------------------------------------------------------------------------
((EUID == 0)) || die "must run as root (namespaces, taps, macvtap)"
for t in ip ethtool ss python3 "$QEMU" npx base64 awk; do
  command -v "$t" >/dev/null || die "$t not found"
done
NETSERVER=$(ls -d "$ROOT"/.cache/debs/root/netperf_*/usr/bin/netserver 2>/dev/null | tail -1)
[[ -x $NETSERVER ]] || die "netserver not found under .cache/debs/root/netperf_*/usr/bin (run: vnetbench setup)"
IMAGE=
case $IMAGE_CHOICE in
harness)
  # "  dir      /work/main/.cache/images/<hash>" in what `image build` prints.
  IMAGE=$(npx tsx harness/cli/main.ts image build 2>/dev/null </dev/null | awk '$1 == "dir" { print $2; exit }') || true
  [[ -n $IMAGE ]] || die "vnetbench image build did not name the guest image (run it by hand to see why, or pass --image newest|DIR)"
  ;;
newest)
  for d in $(ls -td "$ROOT"/.cache/images/*/ 2>/dev/null); do
    [[ -f $d/vmlinux && -f $d/initrd.img ]] && { IMAGE=${d%/}; break; }
  done
  ;;
*) IMAGE=${IMAGE_CHOICE%/} ;;
esac
[[ -n $IMAGE && -f $IMAGE/vmlinux && -f $IMAGE/initrd.img ]] || die "no guest image with vmlinux + initrd.img (${IMAGE:-none found}; run: vnetbench image build)"
KERNEL=$IMAGE/vmlinux INITRD=$IMAGE/initrd.img

# ---- names, and the record of everything created -------------------------------------------------
ID=$$
GNS=vnbfid-$ID-g PNS=vnbfid-$ID-p
WIRE=vnbfid${ID}w PEERIF=vnbfid${ID}p TAP=vnbfid${ID}t0 BR=vnbfid${ID}br MV=vnbfid${ID}mv
# Locally administered unicast MACs (first octet 0x06), from the pid; last octet = role as the
# harness's macFor: 01 peer, 02 guest, fb bridge, fe wire.
hexid=$(printf '%06x' $((ID & 0xffffff)))
mac() { printf '06:%s:%s:%s:00:%s' "${hexid:0:2}" "${hexid:2:2}" "${hexid:4:2}" "$1"; }
GMAC=$(mac 02)
# The harness gives its macvtap ifindex 2^24 + run id (< 2^25); ours sits above that range, so
# /dev/tap<ifindex> (one global devtmpfs for all namespaces) cannot be one of its nodes.
MV_INDEX=$((0x2000000 + ID))

for ns in $(ip netns list | awk '{print $1}' | grep '^vnbfid-' || true); do
  p=${ns#vnbfid-}; p=${p%-?}
  [[ -d /proc/$p ]] || log "note: namespace $ns is left over from an earlier fidelity run (pid $p is gone); remove it with: ip netns del $ns"
done

WORK=$(mktemp -d "/tmp/vnbfid-$ID.XXXXXX")
LEDGER=$WORK/created.log
UNDO=() # shell-quoted commands, undone last-first
record() { # what, undo argv...
  local what=$1
  shift
  UNDO+=("$(printf '%q ' "$@")")
  printf '%s %s | undo: %s\n' "$(date +%T)" "$what" "${UNDO[-1]}" >>"$LEDGER"
}
undo_to() { # undo everything recorded after mark $1
  while ((${#UNDO[@]} > $1)); do
    local c=${UNDO[-1]}
    unset 'UNDO[-1]'
    eval "$c" >/dev/null 2>&1 || true
  done
}
alive() { # pid: exists and is not a zombie
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${st:0:1} != Z ]]
}
stop_pid() { # pid [first signal] [grace s]: signal, wait, then SIGKILL
  local pid=$1 sig=${2:-TERM} grace=${3:-5} i
  alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
stop_group() { # pgid [first signal] [grace s]: for the harness run (its own session)
  local pid=$1 sig=${2:-INT} grace=${3:-60} i
  alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  kill -TERM -- "-$pid" 2>/dev/null || true
  sleep 3
  kill -KILL -- "-$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if ((${#UNDO[@]})); then
    log "removing what this run created (${#UNDO[@]} records)"
    undo_to 0
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ((KEEP)); then
  record "work dir $WORK (kept: --keep)" true
else
  record "work dir $WORK" rm -rf "$WORK"
fi

# ---- topology ------------------------------------------------------------------------------------
in_g() { ip netns exec "$GNS" "$@"; }
in_p() { ip netns exec "$PNS" "$@"; }
del_ns() { # whatever still runs in the namespace is ours (QEMU, netserver): stop it, then delete
  local pids
  pids=$(ip netns pids "$1" 2>/dev/null | tr '\n' ' ')
  if [[ -n ${pids// /} ]]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    sleep 1
    # shellcheck disable=SC2086
    kill -KILL $(ip netns pids "$1" 2>/dev/null) 2>/dev/null
  fi
  ip netns del "$1"
}
new_ns() {
  record "netns $1" del_ns "$1"
  ip netns add "$1"
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set dev lo up
}
make_topology() { # backend
  new_ns "$GNS"
  new_ns "$PNS"
  record "veth $WIRE ($GNS) <-> $PEERIF ($PNS)" ip -n "$GNS" link del "$WIRE"
  ip link add "$WIRE" netns "$GNS" address "$(mac fe)" type veth peer name "$PEERIF" netns "$PNS" address "$(mac 01)"
  ip -n "$GNS" link set dev "$WIRE" up
  ip -n "$PNS" link set dev "$PEERIF" up
  ip -n "$PNS" addr add "$PEER_IP/$PREFIX_LEN" dev "$PEERIF"
  case $1 in
  copy)
    record "bridge $BR ($GNS)" ip -n "$GNS" link del "$BR"
    ip -n "$GNS" link add "$BR" address "$(mac fb)" type bridge stp_state 0 forward_delay 0
    record "tap $TAP ($GNS)" ip -n "$GNS" tuntap del dev "$TAP" mode tap
    ip -n "$GNS" tuntap add dev "$TAP" mode tap vnet_hdr # one queue: no multi_queue
    ip -n "$GNS" link set dev "$TAP" master "$BR"
    ip -n "$GNS" link set dev "$WIRE" master "$BR"
    ip -n "$GNS" link set dev "$TAP" up
    ip -n "$GNS" link set dev "$BR" up
    NET_ARGS=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off" -device "virtio-net-pci,netdev=n0,mac=$GMAC")
    TAPNODE=
    ;;
  macvtap)
    record "macvtap $MV ($GNS)" ip -n "$GNS" link del "$MV"
    ip -n "$GNS" link add link "$WIRE" name "$MV" index "$MV_INDEX" address "$GMAC" type macvtap mode bridge
    ip -n "$GNS" link set dev "$MV" up
    local devnum maj min i
    devnum=$(in_g cat "/sys/class/net/$MV/macvtap/tap$MV_INDEX/dev")
    maj=${devnum%%:*} min=${devnum##*:}
    TAPNODE=
    for ((i = 0; i < 20; i++)); do # devtmpfs makes /dev/tapN while the link is added
      if [[ -c /dev/tap$MV_INDEX ]]; then
        [[ $(stat -c '%t:%T' "/dev/tap$MV_INDEX") == "$(printf '%x:%x' "$maj" "$min")" ]] && TAPNODE=/dev/tap$MV_INDEX
        break
      fi
      sleep 0.05
    done
    if [[ -z $TAPNODE ]]; then
      TAPNODE=/dev/vnbfid-$ID-tap$MV_INDEX
      record "device node $TAPNODE" rm -f "$TAPNODE"
      mknod -m 0600 "$TAPNODE" c "$maj" "$min"
    fi
    NET_ARGS=(-netdev "tap,id=n0,fd=3,vhost=off" -device "virtio-net-pci,netdev=n0,mac=$GMAC")
    ;;
  esac
}

# ---- guest ---------------------------------------------------------------------------------------
# harness/guest/cmdline.ts: accelArgs (TCG: thread=multi and maxcpus=2 so one vCPU keeps its memory
# barriers), FAST_BOOT_APPEND, kernelCmdline, buildQemuArgs; wrapNetns runs it in the guest netns.
accel_args() {
  if [[ $ACCEL == kvm ]]; then
    echo -accel kvm -cpu host -smp "$SMP"
  elif ((SMP < 2)); then
    echo -accel tcg,thread=multi -smp "$SMP,maxcpus=2"
  else
    echo -accel tcg,thread=multi -smp "$SMP"
  fi
}
APPEND="console=ttyS0 quiet panic=-1 cryptomgr.notests audit=0 i8042.noaux i8042.nokbd i8042.nopnp tsc=reliable no_timer_check 8250.nr_uarts=1 initcall_blacklist=init_kprobe_trace,crypto_kdf108_init vnb.ip=$GUEST_IP/$PREFIX_LEN vnb.mac=$GMAC"

boot_guest() { # backend round
  local name=vnbfid-$ID-$1 dir=$WORK/$1-r$2 line t0
  mkdir -p "$dir"
  # shellcheck disable=SC2207
  local accel=($(accel_args))
  QEMU_ARGV=(ip netns exec "$GNS" "$QEMU"
    -name "$name,debug-threads=on" -nodefaults -no-user-config -display none -machine q35
    "${accel[@]}" -m "${MEM_MIB}M"
    -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
    -serial "file:$dir/$name.console.log"
    -chardev "socket,id=vnbqmp,path=$dir/qmp.sock" -mon chardev=vnbqmp,mode=control
    -device virtio-serial-pci,id=vnbser,max_ports=2
    -chardev "socket,id=vnbagent,path=$dir/agent.sock"
    -device virtserialport,bus=vnbser.0,chardev=vnbagent,name=vnb.agent
    -no-reboot -msg timestamp=on "${NET_ARGS[@]}")
  printf '%s\n' "${QEMU_ARGV[@]}" >"$WORK/$1.argv"
  coproc AGENT { exec "${HELPER[@]}" serve "$dir"; }
  AG_PID=$AGENT_PID AG_IN=${AGENT[1]} AG_OUT=${AGENT[0]}
  record "agent helper pid $AG_PID" stop_pid "$AG_PID" TERM 2
  read -r -t 30 line <&"$AG_OUT" && [[ $line == LISTENING ]] || die "agent helper did not start: ${line-}"
  t0=$(date +%s.%N)
  if [[ -n $TAPNODE ]]; then
    "${QEMU_ARGV[@]}" </dev/null >"$dir/qemu.log" 2>&1 3<>"$TAPNODE" &
  else
    "${QEMU_ARGV[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
  fi
  QEMU_PID=$!
  record "qemu pid $QEMU_PID ($name)" stop_pid "$QEMU_PID" TERM 5
  if ! read -r -t 240 line <&"$AG_OUT" || [[ $line != READY* ]]; then
    echo "--- console tail:" >&2
    tail -n 15 "$dir/$name.console.log" >&2 || true
    echo "--- qemu log:" >&2
    tail -n 15 "$dir/qemu.log" >&2 || true
    die "$1 guest did not become ready: ${line-no answer}"
  fi
  read -r _ GNIC _ _ <<<"$line"
  log "  $1 guest ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s (nic $GNIC)"
}
shutdown_guest() {
  local line
  if alive "$AG_PID" && printf 'QUIT\n' >&"$AG_IN" 2>/dev/null; then read -r -t 10 line <&"$AG_OUT" || true; fi
  for ((i = 0; i < 100; i++)); do alive "$QEMU_PID" || break; sleep 0.1; done
}
b64d() { [[ $1 == - ]] || printf '%s' "$1" | base64 -d; }
json_argv() {
  local a s='[' sep=''
  for a; do a=${a//\\/\\\\}; a=${a//\"/\\\"}; s+="$sep\"$a\""; sep=,; done
  printf '%s]' "$s"
}
gexec() { # timeout-s argv...: run in the guest through the agent; sets G_CODE G_OUT G_ERR
  local t=$1 tag o e
  shift
  alive "$AG_PID" || die "the agent helper has exited (QEMU gone?); console: $(tail -n 5 "$WORK"/*/vnbfid-*.console.log 2>/dev/null)"
  printf 'EXEC %s %s\n' "$t" "$(json_argv "$@")" >&"$AG_IN"
  read -r -t $((t + 30)) tag G_CODE o e <&"$AG_OUT" && [[ $tag == R ]] || die "no answer from the agent helper for: $*"
  G_OUT=$(b64d "$o") G_ERR=$(b64d "$e")
}

# ---- measurement ---------------------------------------------------------------------------------
start_netserver() { # dir
  # `ip netns exec` itself, not a shell function, in the background: $! is then netserver's pid
  # (ip execs it), which is what gets stopped.
  ip netns exec "$PNS" "$NETSERVER" -D -f -L "$PEER_IP" -p "$PORT" </dev/null >"$1/netserver.log" 2>&1 &
  local pid=$! i
  record "netserver pid $pid ($PNS)" stop_pid "$pid" TERM 3
  for ((i = 0; i < 150; i++)); do
    in_p ss -Hltnp "sport = :$PORT" | grep -q "pid=$pid," && return 0
    alive "$pid" || break
    sleep 0.1
  done
  die "netserver did not listen on $PEER_IP:$PORT: $(tail -n 3 "$1/netserver.log")"
}
netperf_bps() { # workload seconds out-file -> prints bit/s
  local wl=$1 secs=$2 f=$3 opt
  [[ $wl == TCP_MAERTS ]] && opt=",$SIZE" || opt=$SIZE # MAERTS: -m local,remote (the peer sends)
  gexec $((secs + 60)) netperf -H "$PEER_IP" -p "$PORT" -l "$secs" -t "$wl" -P 0 -- -m "$opt" -k "$SELECTORS"
  printf '%s\n' "$G_OUT" >"$f"
  ((G_CODE == 0)) || die "guest netperf $wl failed (exit $G_CODE): $G_ERR $(tail -n 3 "$f")"
  awk -F= '$1=="THROUGHPUT"{t=$2} $1=="THROUGHPUT_UNITS"{u=$2}
    END{ if (t=="" || u !~ /^10\^[0-9]+bits\/s$/) { print "bad netperf output" > "/dev/stderr"; exit 1 }
         split(u, p, /[\^b]/); printf "%.0f\n", t * 10^p[2] }' "$f"
}
hand_run() { # backend round
  local b=$1 r=$2 mark=${#UNDO[@]} wl i bps dir=$WORK/$1-r$2
  log "hand-made $b (round $r): topology, guest, ${WORKLOADS[*]} x $ITERATIONS"
  make_topology "$b"
  boot_guest "$b" "$r"
  # The harness's offloads "on": TSO/GSO/GRO on the guest NIC and on both ends of the wire.
  gexec 15 ethtool -K "$GNIC" tso on gso on gro on
  in_g ethtool -K "$WIRE" tso on gso on gro on >/dev/null 2>&1 || true
  in_p ethtool -K "$PEERIF" tso on gso on gro on >/dev/null 2>&1 || true
  for wl in "${WORKLOADS[@]}"; do
    local cmark=${#UNDO[@]}
    start_netserver "$dir"
    netperf_bps "$wl" "$WARMUP" "$dir/$wl-warmup.out" >/dev/null
    for ((i = 1; i <= ITERATIONS; i++)); do
      bps=$(netperf_bps "$wl" "$DURATION" "$dir/$wl-$i.out")
      echo "$r $b $wl $i $bps" >>"$WORK/hand.txt"
      log "  $b $wl #$i: $(awk -v x="$bps" 'BEGIN{printf "%.1f", x/1e6}') Mbit/s"
    done
    undo_to "$cmark" # netserver
  done
  shutdown_guest
  undo_to "$mark"
}
harness_run() { # round
  local r=$1 out=$WORK/harness-r$1 rc=0 pid
  log "harness (round $r): vnetbench run --backends copy,macvtap ..."
  HARNESS_CMD=(npx tsx harness/cli/main.ts run --backends copy,macvtap --workloads "$(IFS=,; echo "${WORKLOADS[*]}")"
    --sizes "$SIZE" --duration "$DURATION" --iterations "$ITERATIONS" --warmup "$WARMUP" --out "$out")
  # Its own session: a Ctrl-C reaches it once, from our trap, and it tears down its own run.
  setsid "${HARNESS_CMD[@]}" </dev/null >"$out.log" 2>&1 &
  pid=$!
  record "harness run pid $pid" stop_group "$pid" INT 60
  wait "$pid" || rc=$?
  UNDO=("${UNDO[@]:0:${#UNDO[@]}-1}") # it has exited: nothing left to stop
  if ((rc != 0)); then
    log "  harness run exited $rc; last lines of $out.log:"
    tail -n 25 "$out.log" | sed 's/^/    /'
  fi
  [[ -f $out/results.jsonl ]] || die "the harness run wrote no results.jsonl"
  "${HELPER[@]}" cells "$out" | sed "s/^/$r /" >>"$WORK/harness.txt"
  grep -h "^$r ERROR" "$WORK/harness.txt" | sed 's/^/  harness error: /' || true
  HARNESS_OUTS+=("$out")
}

# ---- the sitting ---------------------------------------------------------------------------------
START=$SECONDS
log "fidelity: ${BACKENDS[*]} x ${WORKLOADS[*]}, ${SIZE} B, ${DURATION} s x $ITERATIONS (+${WARMUP} s warm-up), $ROUNDS round(s), accel $ACCEL"
log "image $IMAGE; work dir $WORK"
: >"$WORK/hand.txt"
HARNESS_OUTS=()
: >"$WORK/harness.txt"
for ((round = 1; round <= ROUNDS; round++)); do
  hand_run copy "$round"
  harness_run "$round"
  hand_run macvtap "$round"
done

# ---- the table -----------------------------------------------------------------------------------
echo
# Same guest, same QEMU? The harness records its command lines in the run manifest.
for b in "${BACKENDS[@]}"; do
  echo "QEMU argv, harness vs hand-made ($b): $("${HELPER[@]}" argv-diff "${HARNESS_OUTS[-1]}" "$b" "$WORK/$b.argv")"
done
echo
echo "Fidelity: harness vs hand-made, ${SIZE}-byte messages, ${DURATION} s x $ITERATIONS, $ROUNDS round(s) (order per round: hand copy, harness copy+macvtap, hand macvtap)"
broken=0
{
  printf '%-8s %-11s %14s %14s %7s %s\n' backend workload "hand Mbit/s" "harness Mbit/s" ratio "within 10 %"
  for b in "${BACKENDS[@]}"; do
    for wl in "${WORKLOADS[@]}"; do
      awk -v b="$b" -v wl="$wl" -v size="$SIZE" -v hf="$WORK/hand.txt" -v tf="$WORK/harness.txt" '
        FILENAME == hf && $2==b && $3==wl { hs += $5; hss += $5*$5; hn++ }
        FILENAME == tf && $2==b && $3==wl && $4==size && $5=="on" { ts += $6; tn++ }
        END {
          h = hn ? hs/hn : 0; t = tn ? ts/tn : 0
          hcv = hn > 1 ? sqrt((hss - hn*h*h)/(hn-1))/h*100 : 0
          if (!hn || !tn) { printf "%-8s %-11s %14s %14s %7s %s\n", b, wl, hn ? sprintf("%.1f", h/1e6) : "n/a", tn ? sprintf("%.1f", t/1e6) : "n/a", "-", "n/a (missing)"; exit 3 }
          r = t/h
          printf "%-8s %-11s %14.1f %14.1f %7.3f %s\n", b, wl, h/1e6, t/1e6, r, (r >= 0.9 && r <= 1.1) ? "yes" : "no"
        }' "$WORK/hand.txt" "$WORK/harness.txt" || broken=1
    done
  done
} | tee "$WORK/table.txt"
grep -q 'n/a (missing)' "$WORK/table.txt" && broken=1
echo "(ratio = harness / hand-made; within 10 %: 0.90 <= ratio <= 1.10)"
echo
echo "Per run (Mbit/s), then mean and coefficient of variation:"
# shellcheck disable=SC2016
SPREAD='$2==b && $3==wl { x=$c/1e6; printf "%.1f ", x; s+=x; ss+=x*x; n++ }
  END { if (n) { m=s/n; printf " (mean %.1f", m; if (n>1) printf ", CV %.1f %%", sqrt((ss-n*m*m)/(n-1))/m*100; printf ")" } }'
for b in "${BACKENDS[@]}"; do
  for wl in "${WORKLOADS[@]}"; do
    printf '  %-8s %-11s hand: %s\n' "$b" "$wl" "$(awk -v b="$b" -v wl="$wl" -v c=5 "$SPREAD" "$WORK/hand.txt")"
    printf '  %-8s %-11s harness: %s\n' "$b" "$wl" "$(awk -v size="$SIZE" '$2=="ITER" && $5==size {print $1, $3, $4, $6, $7}' "$WORK/harness.txt" | awk -v b="$b" -v wl="$wl" -v c=5 "$SPREAD")"
  done
done
log "wall time $((SECONDS - START)) s"
((KEEP)) && log "kept: $WORK (raw netperf output, consoles, harness run dirs, created.log)"
((broken == 0)) || die "some cells have no figure (see above)"
exit 0
}
