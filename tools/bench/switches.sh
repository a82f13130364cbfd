#!/usr/bin/env bash
# tools/bench/switches.sh: system calls and context switches per write of a
# 3-node cluster, by node and thread, for one or two builds taking turns
# (docs/BENCHMARKS.md, "The hand-offs' lock convoy").
#
#   tools/bench/switches.sh [-c CLIENTS] [-d SECONDS] [-n RUNS] [-p BASE_PORT] BUILD_DIR [BUILD_DIR_B]
#
# Per run: a fresh cluster (tools/dsm-cluster, fsync on) of BUILD_DIR's
# dsm-node, one second of warm-up, then `perf stat -e
# raw_syscalls:sys_enter,task-clock,context-switches` of the three nodes
# around `bench-native run -c CLIENTS -d SECONDS` (from the first build),
# and each thread's voluntary and involuntary switches from /proc before
# and after.  With two builds the runs alternate A, B, A, B...  One line per
# run: writes, p50, load average, syscalls / switches / CPU µs per write,
# then voluntary+involuntary switches per write of each node's threads by
# role (loop, native workers, http workers, wal = the WAL's sync thread or GLib's pool; a
# pool thread that ended during the run is missing from these).
# Needs perf and root (or perf_event_paranoid <= 0).  Defaults: -c 1 -d 4
# -n 3 -p 22000 (ports P..P+2, P+100.., P+200..).
set -eu

die () { echo "switches.sh: $*" >&2; exit 2; }

CLIENTS=1 SECONDS_RUN=4 RUNS=3 PORT=22000
while getopts c:d:n:p: opt; do
  case $opt in
    c) CLIENTS=$OPTARG ;; d) SECONDS_RUN=$OPTARG ;; n) RUNS=$OPTARG ;; p) PORT=$OPTARG ;;
    *) die "usage: switches.sh [-c CLIENTS] [-d SECONDS] [-n RUNS] [-p BASE_PORT] BUILD_DIR [BUILD_DIR_B]" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || die "one or two build directories"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILDS=("$@")
BENCH=$(cd "${BUILDS[0]}" && pwd)/tools/bench/bench-native
[ -x "$BENCH" ] || die "$BENCH not built (ninja -C ${BUILDS[0]} tools/bench/bench-native)"
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
TMP=$(mktemp -d)
DIR=
cleanup () { [ -z "$DIR" ] || "$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT

# node<N> <tid> <comm> <voluntary> <involuntary>, for every thread of the three nodes.
snapshot () {
  local n p t
  for n in 1 2 3; do
    p=$(cat "$DIR/node$n.pid")
    for t in /proc/"$p"/task/*; do
      # A pool thread may end between the listing and the read.
      awk -v id="node$n ${t##*/}" '/^Name:/ {c = $2} /^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {i = $2}
                                  END {if (c != "") print id, c, v, i}' "$t/status" 2>/dev/null || true
    done
  done
}

run_one () {
  local build=$1 label=$2 pids token urls json ok
  DIR=$TMP/$label
  rm -rf "$DIR"
  DSM_BUILD_DIR=$build "$ROOT/tools/dsm-cluster" up -n 3 --dir "$DIR" --base-port "$PORT" >/dev/null 2>&1 \
    || die "cluster of $build did not start (see $DIR/node*.log)"
  pids=$(cat "$DIR"/node*.pid | paste -sd,)
  token=$(awk '/^admin/ {print $2}' "$DIR/tokens")
  urls="--url 127.0.0.1:$((PORT + 200)) --url 127.0.0.1:$((PORT + 201)) --url 127.0.0.1:$((PORT + 202))"
  # shellcheck disable=SC2086
  "$BENCH" run $urls -c "$CLIENTS" -d 1 --warmup 0 --prefix "s$RANDOM" --token "$token" >/dev/null
  snapshot >"$TMP/before"
  perf stat -x, -e raw_syscalls:sys_enter,task-clock,context-switches -p "$pids" -o "$TMP/perf.csv" &
  local perf_pid=$!
  sleep 0.2
  # shellcheck disable=SC2086
  json=$("$BENCH" run $urls -c "$CLIENTS" -d "$SECONDS_RUN" --warmup 0 --prefix "t$RANDOM" --token "$token")
  snapshot >"$TMP/after"
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  "$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true
  DIR=
  ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$json")
  [ "${ok:-0}" -gt 0 ] || die "no acknowledged write: $json"
  awk -F, -v ok="$ok" '
    $3 == "raw_syscalls:sys_enter" { sc = $1 } $3 == "context-switches" { cs = $1 } $3 == "task-clock" { tc = $1 }
    END { printf "syscalls/w %.1f  switches/w %.2f  cpu_us/w %.0f", sc / ok, cs / ok, tc * 1000 / ok }' "$TMP/perf.csv" >"$TMP/stat"
  awk -v ok="$ok" '
    FNR == NR { v0[$2] = $4; i0[$2] = $5; next }
    { role = $3 ~ /^dsm-node/ ? "loop" : $3 ~ /^dsm-native/ ? "native" : $3 ~ /^dsm-http/ ? "http" : $3 ~ /^(pool|dsm-wal-sync)/ ? "wal" : $3
      k = $1 "." role; v[k] += $4 - v0[$2]; i[k] += $5 - i0[$2] }
    END { for (k in v) if (v[k] + i[k] > ok / 20) printf "%s %.2f+%.2f\n", k, v[k] / ok, i[k] / ok }' \
    "$TMP/before" "$TMP/after" | sort | sed 's/^/ /' | paste -sd' ' >"$TMP/threads"
  printf '%s: writes %s p50 %s ms load %s | %s |%s\n' "$label" "$ok" \
    "$(sed -n 's/.*"p50_ms":\([0-9.]*\).*/\1/p' <<<"$json")" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$(cat "$TMP/stat")" "$(cat "$TMP/threads")"
}

for ((r = 1; r <= RUNS; r++)); do
  for b in "${!BUILDS[@]}"; do
    run_one "$(cd "${BUILDS[$b]}" && pwd)" "$([ "$b" = 0 ] && echo A || echo B)$r"
  done
done
