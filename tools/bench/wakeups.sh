#!/usr/bin/env bash
# tools/bench/wakeups.sh: who wakes whom per write in a 3-node cluster: the
# commit path's thread hand-offs, counted (docs/BENCHMARKS.md, "The WAL's
# own thread").
#
#   tools/bench/wakeups.sh [-c CLIENTS] [-d SECONDS] [-p BASE_PORT] BUILD_DIR
#
# A fresh cluster (tools/dsm-cluster, fsync on) of BUILD_DIR's dsm-node, one
# second of warm-up, then `perf record -a -e sched:sched_wakeup,sched:sched_switch`
# around `bench-native run -c CLIENTS -d SECONDS`.  Prints, per acknowledged
# write: each wake-up of a node's thread by its waker, then each node
# thread's sleeps and preemptions.  A wake-up from an interrupt (the disk's
# completions, packets) is counted for the task it interrupted: "irq" when
# that was an idle vCPU or a process outside the cluster, and the small cross
# counts (a follower waking the other follower or the leader's WAL thread)
# are such interrupts too.
# Threads are named node<N>.<role>: loop, dsm-native-<i>, dsm-http-<i>,
# dsm-wal-sync.  Which node leads is whichever one the native workers
# wake.  Needs perf and root (or perf_event_paranoid <= 0).  Defaults: -c 1
# -d 3 -p 22000 (ports P..P+2, P+100.., P+200..).
set -eu

die () { echo "wakeups.sh: $*" >&2; exit 2; }

CLIENTS=1 SECONDS_RUN=3 PORT=22000
while getopts c:d:p: opt; do
  case $opt in
    c) CLIENTS=$OPTARG ;; d) SECONDS_RUN=$OPTARG ;; p) PORT=$OPTARG ;;
    *) die "usage: wakeups.sh [-c CLIENTS] [-d SECONDS] [-p BASE_PORT] BUILD_DIR" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || die "one build directory"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
BENCH=$BUILD/tools/bench/bench-native
[ -x "$BENCH" ] || die "$BENCH not built (ninja -C $1 tools/bench/bench-native)"
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
TMP=$(mktemp -d)
DIR=$TMP/cluster
cleanup () { "$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT

DSM_BUILD_DIR=$BUILD "$ROOT/tools/dsm-cluster" up -n 3 --dir "$DIR" --base-port "$PORT" >/dev/null 2>&1 \
  || die "cluster of $BUILD did not start (see $DIR/node*.log)"
token=$(awk '/^admin/ {print $2}' "$DIR/tokens")
urls="--url 127.0.0.1:$((PORT + 200)) --url 127.0.0.1:$((PORT + 201)) --url 127.0.0.1:$((PORT + 202))"
# shellcheck disable=SC2086
"$BENCH" run $urls -c "$CLIENTS" -d 1 --warmup 0 --prefix "w$RANDOM" --token "$token" >/dev/null
# node<N> <tid> <role>, for every thread of the three nodes.
for n in 1 2 3; do
  p=$(cat "$DIR/node$n.pid")
  for t in /proc/"$p"/task/*; do
    c=$(cat "$t/comm" 2>/dev/null) || continue
    [ "$c" = dsm-node ] && c=loop
    echo "node$n ${t##*/} $c"
  done
done >"$TMP/threads"
perf record -q -a -e sched:sched_wakeup,sched:sched_switch -o "$TMP/perf.data" 2>/dev/null &
perf_pid=$!
sleep 0.3
# shellcheck disable=SC2086
json=$("$BENCH" run $urls -c "$CLIENTS" -d "$SECONDS_RUN" --warmup 0 --prefix "t$RANDOM" --token "$token")
kill -INT "$perf_pid"; wait "$perf_pid" || true
ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$json")
[ "${ok:-0}" -gt 0 ] || die "no acknowledged write: $json"
echo "writes $ok, p50 $(sed -n 's/.*"p50_ms":\([0-9.]*\).*/\1/p' <<<"$json") ms, load $(cut -d' ' -f1 /proc/loadavg)"
perf script -i "$TMP/perf.data" -F tid,event,trace 2>/dev/null | awk -v ok="$ok" '
  FNR == NR { name[$2] = $1 "." $3; next }
  $2 == "sched:sched_wakeup:" {
    match($0, / pid=[0-9]+/); t = substr($0, RSTART + 5, RLENGTH - 5)
    if (t in name) wake[(($1 in name) ? name[$1] : "irq") " -> " name[t]]++
    next }
  $2 == "sched:sched_switch:" {
    match($0, /prev_pid=[0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9)
    if (!(p in name)) next
    match($0, /prev_state=[^ ]+/); s = substr($0, RSTART + 11, RLENGTH - 11)
    if (s ~ /^R/) pre[name[p]]++; else slp[name[p]]++; seen[name[p]] = 1 }
  END {
    print "wake-ups per write (waker -> woken):"
    for (k in wake) if (wake[k] / ok >= 0.05) printf "  %-40s %.2f\n", k, wake[k] / ok | "sort -k4 -rn"
    close("sort -k4 -rn")
    print "sleeps + preemptions per write:"
    for (k in seen) if ((slp[k] + pre[k]) / ok >= 0.05) printf "  %-24s %.2f + %.2f\n", k, slp[k] / ok, pre[k] / ok | "sort"
    close("sort") }' "$TMP/threads" -
