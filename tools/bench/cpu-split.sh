#!/usr/bin/env bash
# tools/bench/cpu-split.sh: the whole machine's CPU per acknowledged write,
# split by process and thread, for one or two builds taking turns
# (docs/BENCHMARKS.md, "Where the time goes").
#
#   tools/bench/cpu-split.sh [-c CLIENTS] [-d SECONDS] [-n RUNS] [-p BASE_PORT] BUILD_DIR [BUILD_DIR_B]
#
# Per run: a fresh 3-node cluster (tools/dsm-cluster, fsync on) of
# BUILD_DIR's dsm-node, one second of warm-up, then `bench-native run -c
# CLIENTS -d SECONDS` to all three native ports (from the first build).  Every
# thread of the machine is read before and after (/proc/*/task/*/schedstat:
# nanoseconds on a CPU; stat: its user/kernel ticks), the generator by
# /usr/bin/time, softirq, idle and steal from /proc/stat.  One line per run:
# writes, writes/s, p99, load average, then microseconds per write of the
# leader's loop, native workers and WAL thread, each follower's loop and
# WAL thread (the nodes' kernel share in brackets), the generator, softirq,
# kernel workers (kworker, ksoftirqd, jbd2), the sum of these; then the
# machine's whole capacity per write (every CPU's ticks over the run) and
# how the rest of it went: other work, idle (with iowait), steal.
# Defaults: -c 64 -d 10 -n 1 -p 32300 (ports P..P+2, P+100.., P+200..).
set -eu

die () { echo "cpu-split.sh: $*" >&2; exit 2; }

CLIENTS=64 SECONDS_RUN=10 RUNS=1 PORT=32300
while getopts c:d:n:p: opt; do
  case $opt in
    c) CLIENTS=$OPTARG ;; d) SECONDS_RUN=$OPTARG ;; n) RUNS=$OPTARG ;; p) PORT=$OPTARG ;;
    *) die "usage: cpu-split.sh [-c CLIENTS] [-d SECONDS] [-n RUNS] [-p BASE_PORT] BUILD_DIR [BUILD_DIR_B]" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || die "one or two build directories"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILDS=("$@")
BENCH=$(cd "${BUILDS[0]}" && pwd)/tools/bench/bench-native
[ -x "$BENCH" ] || die "$BENCH not built (ninja -C ${BUILDS[0]} tools/bench/bench-native)"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (apt-get install time)"
TMP=$(mktemp -d)
DIR=
cleanup () { [ -z "$DIR" ] || "$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT

# <pid> <tid> <comm> <ns on a CPU> <utime> <stime>, for every thread of the machine.
snapshot () {
  local t s rt p rest comm
  for t in /proc/[0-9]*/task/[0-9]*; do
    { read -r rt _ _ <"$t/schedstat"; } 2>/dev/null || continue
    s=$(cat "$t/stat" 2>/dev/null) || continue
    p=${t#/proc/}; p=${p%%/*}
    rest=${s##*) }; comm=${s#*(}; comm=${comm%)*}; comm=${comm// /_}
    # shellcheck disable=SC2086
    set -- $rest
    echo "$p ${t##*/} $comm $rt ${12} ${13}"
  done
}

run_one () {
  local build=$1 label=$2 token urls json ok
  DIR=$TMP/$label
  rm -rf "$DIR"
  DSM_BUILD_DIR=$build "$ROOT/tools/dsm-cluster" up -n 3 --dir "$DIR" --base-port "$PORT" >/dev/null 2>&1 \
    || die "cluster of $build did not start (see $DIR/node*.log)"
  token=$(awk '/^admin/ {print $2}' "$DIR/tokens")
  urls="--url 127.0.0.1:$((PORT + 200)) --url 127.0.0.1:$((PORT + 201)) --url 127.0.0.1:$((PORT + 202))"
  # shellcheck disable=SC2086
  "$BENCH" run $urls -c "$CLIENTS" -d 1 --warmup 0 --prefix "w$RANDOM" --token "$token" >/dev/null
  snapshot >"$TMP/before"
  head -1 /proc/stat >"$TMP/stat0"
  # shellcheck disable=SC2086
  json=$(/usr/bin/time -f '%U %S' -o "$TMP/time" \
           "$BENCH" run $urls -c "$CLIENTS" -d "$SECONDS_RUN" --warmup 0 --prefix "t$RANDOM" --token "$token")
  head -1 /proc/stat >"$TMP/stat1"
  snapshot >"$TMP/after"
  echo "$(cat "$DIR/node1.pid") $(cat "$DIR/node2.pid") $(cat "$DIR/node3.pid")" >"$TMP/pids"
  "$ROOT/tools/dsm-cluster" down --dir "$DIR" >/dev/null 2>&1 || true
  DIR=
  ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$json")
  [ "${ok:-0}" -gt 0 ] || die "no acknowledged write: $json"
  printf '%s: writes %s (%s/s) p99 %s ms load %s | µs/write: ' "$label" "$ok" \
    "$(sed -n 's/.*"rate":\([0-9]*\).*/\1/p' <<<"$json")" "$(sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p' <<<"$json")" \
    "$(cut -d' ' -f1 /proc/loadavg)"
  awk -v ok="$ok" -v hz="$(getconf CLK_TCK)" '
    FILENAME ~ /pids$/ { for (i = 1; i <= 3; i++) node[$i] = "node" i; next }
    FILENAME ~ /time$/ { gen = ($1 + $2) * 1e6; next }
    FILENAME ~ /stat0$/ { for (i = 2; i <= 9; i++) s0[i] = $i; next }
    FILENAME ~ /stat1$/ { for (i = 2; i <= 9; i++) ds[i] = $i - s0[i]; next }
    FILENAME ~ /before$/ { rt0[$2] = $4; ut0[$2] = $5; st0[$2] = $6; next }
    {
      d = ($4 - rt0[$2]) / 1000.0; du = $5 - ut0[$2]; dk = $6 - st0[$2]
      if ($1 in node) {
        role = $3 ~ /^dsm-native/ ? "native" : $3 ~ /^dsm-wal-sync/ ? "wal" : $3 ~ /^dsm-node/ ? "loop" : "other"
        k = node[$1] "." role; us[k] += d; ut[k] += du; kt[k] += dk; total[node[$1]] += d
        if (role == "native") nat[node[$1]] += d
      } else if ($3 ~ /^(kworker|ksoftirqd|jbd2)/) kw += d
    }
    END {
      leader = "node1"
      for (n in nat) if (nat[n] > nat[leader]) leader = n
      order = leader ".loop " leader ".native " leader ".wal"
      for (i = 1; i <= 3; i++) if ("node" i != leader) order = order " node" i ".loop node" i ".wal"
      m = split(order, keys, " ")
      for (i = 1; i <= m; i++) {
        k = keys[i]; sum += us[k]
        name = k; sub(leader, "leader", name); sub(/node[0-9]/, "follower", name)
        printf "%s %.1f [%d%%] ", name, us[k] / ok, (ut[k] + kt[k] > 0 ? 100 * kt[k] / (ut[k] + kt[k]) : 0)
      }
      for (n in total) rest += total[n]
      rest -= sum
      softirq = (ds[7] + ds[8]) / hz * 1e6
      ours = sum + rest + gen + softirq + kw
      for (i = 2; i <= 9; i++) machine += ds[i] / hz * 1e6
      idle = (ds[5] + ds[6]) / hz * 1e6; steal = ds[9] / hz * 1e6
      printf "node-other %.1f generator %.1f softirq %.1f kworkers %.1f = %.1f | machine %.1f: not ours %.1f, idle %.1f, steal %.1f\n",
        rest / ok, gen / ok, softirq / ok, kw / ok, ours / ok, machine / ok,
        (machine - ours - idle - steal) / ok, idle / ok, steal / ok
    }' "$TMP/pids" "$TMP/time" "$TMP/stat0" "$TMP/stat1" "$TMP/before" "$TMP/after"
}

for ((r = 1; r <= RUNS; r++)); do
  for b in "${!BUILDS[@]}"; do
    run_one "$(cd "${BUILDS[$b]}" && pwd)" "$([ "$b" = 0 ] && echo A || echo B)$r"
  done
done
