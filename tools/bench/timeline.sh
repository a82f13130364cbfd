#!/usr/bin/env bash
# tools/bench/timeline.sh: the timeline of one write at one native client,
# hop by hop, from every write of a 4 s run (docs/BENCHMARKS.md, "Where the
# time goes", "1 connection").
#
#   tools/bench/timeline.sh [-d SECONDS] [-p BASE_PORT] [-N NICE] BUILD_DIR OUT_DIR
#
# A fresh 3-node cluster (tools/dsm-cluster, fsync on) of BUILD_DIR's
# dsm-node, one second of warm-up, then `perf record -a` of the scheduler's
# wake-ups and switches, the block layer's requests and the system calls of
# the nodes' threads and of the client, around `bench-native run -c 1`.
# tools/bench/timeline.py then cuts each write (the client's send to its
# receipt of the answer) into hops that add up to it, and prints their
# medians, the mean of each over the writes between p40 and p60 (which add
# up to those writes' mean), the CPU the write's window gave each thread,
# and every wake-up: who woke whom, on which vCPU, how long to run.
# -N renices the nodes' threads and the client (-19: other work on the
# machine yields to them at once; the disk is still shared).  OUT_DIR keeps
# perf.data, the decoded events and the report (report.txt).  Needs perf,
# python3 and root.  Defaults: -d 4 -p 22000 (ports P..P+2, P+100.., P+200..).
set -eu

die () { echo "timeline.sh: $*" >&2; exit 2; }

SECONDS_RUN=4 PORT=22000 NICE=
while getopts d:p:N: opt; do
  case $opt in
    d) SECONDS_RUN=$OPTARG ;; p) PORT=$OPTARG ;; N) NICE=$OPTARG ;;
    *) die "usage: timeline.sh [-d SECONDS] [-p BASE_PORT] [-N NICE] BUILD_DIR OUT_DIR" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || die "a build directory and an output directory"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
OUT=$2
BENCH=$BUILD/tools/bench/bench-native
[ -x "$BENCH" ] || die "$BENCH not built (ninja -C $1 tools/bench/bench-native)"
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
command -v python3 >/dev/null || die "python3 is needed"
rm -rf "$OUT"
mkdir -p "$OUT"
DIR=$OUT/cluster
cleanup () { "$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT

DSM_BUILD_DIR=$BUILD "$ROOT/tools/dsm-cluster" up -n 3 --dir "$DIR" --base-port "$PORT" >/dev/null 2>&1 \
  || die "cluster of $BUILD did not start (see $DIR/node*.log)"
token=$(awk '/^admin/ {print $2}' "$DIR/tokens")
urls="--url 127.0.0.1:$((PORT + 200)) --url 127.0.0.1:$((PORT + 201)) --url 127.0.0.1:$((PORT + 202))"
# shellcheck disable=SC2086
"$BENCH" run $urls -c 1 -d 1 --warmup 0 --prefix "w$RANDOM" --token "$token" >/dev/null
# node<N> <tid> <role>, for every thread of the three nodes.
for n in 1 2 3; do
  p=$(cat "$DIR/node$n.pid")
  for t in /proc/"$p"/task/*; do
    c=$(cat "$t/comm" 2>/dev/null) || continue
    [ "$c" = dsm-node ] && c=loop
    echo "node$n ${t##*/} $c"
  done
done >"$OUT/threads"
# shellcheck disable=SC2046
[ -z "$NICE" ] || renice -n "$NICE" -p $(awk '{print $2}' "$OUT/threads") >/dev/null
# The client waits for a go and execs bench-native: its pid is known before
# perf starts, for the system calls' filter.
mkfifo "$OUT/go"
# shellcheck disable=SC2086
( read -r _ <"$OUT/go"; exec ${NICE:+nice -n "$NICE"} "$BENCH" run $urls -c 1 -d "$SECONDS_RUN" --warmup 0 \
    --prefix "t$RANDOM" --token "$token" >"$OUT/bench.json" ) &
client=$!
echo "client $client client" >>"$OUT/threads"
filter=$(awk '{printf "%scommon_pid == %s", (NR > 1 ? " || " : ""), $2}' "$OUT/threads")
perf record -q -a -e sched:sched_waking,sched:sched_wakeup,sched:sched_switch \
  -e block:block_rq_issue,block:block_rq_complete \
  -e raw_syscalls:sys_enter --filter "$filter" -e raw_syscalls:sys_exit --filter "$filter" \
  -o "$OUT/perf.data" 2>"$OUT/perf.err" &
perf_pid=$!
sleep 0.5
before=$(grep '^cpu ' /proc/stat)
echo go >"$OUT/go"
wait "$client"
after=$(grep '^cpu ' /proc/stat)
load=$(cut -d' ' -f1 /proc/loadavg)
kill -INT "$perf_pid"; wait "$perf_pid" || true
"$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true
perf script -i "$OUT/perf.data" -F comm,tid,cpu,time,event,trace >"$OUT/script.txt" 2>/dev/null
{
  echo "bench-native: $(cat "$OUT/bench.json")"
  echo "load average $load; $(paste <(echo "$before") <(echo "$after") | awk '{t = 0; for (i = 2; i <= 11; i++) t += $(i + 11) - $i
    printf "CPU: idle %.1f%%, iowait %.1f%%, steal %.1f%%", 100 * ($16 - $5) / t, 100 * ($17 - $6) / t, 100 * ($20 - $9) / t}')"
  python3 "$HERE/timeline.py" "$OUT"
} >"$OUT/report.txt"
cat "$OUT/report.txt"
