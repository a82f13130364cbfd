#!/usr/bin/env bash
# tools/bench/long-run.sh: does a 3-node cluster under steady load stay
# within bounded memory and disk, thanks to snapshots (issue 5)?
#
#   long-run.sh [MINUTES] [--threshold N] [--machines N] [--connections C]
#               [--base-port P] [--dir DIR] [--interval S] [--no-fsync]
#
# Starts 3 dsm-node processes (fsync on) with snapshot_threshold_entries N
# (default 2000), drives wrk for MINUTES (default 10) against the leader,
# cycling a fixed set of machines through Init -> Running -> Stopped -> Init
# (default 256 machines, so the replicated state is bounded) with client_id
# and seq (one client per wrk thread, so sessions are bounded too), and
# every S seconds (default 10) samples each node's VmRSS, data dir size, WAL
# segment count and /metrics.  Writes DIR/long-run.csv and prints, per node,
# the start, end and max of each figure.  A benchmark, not a test: nothing
# here asserts; read the numbers.
#
# Needs curl, and wrk (installed with apt-get when missing), and a built
# dsm-node in $DSM_BUILD_DIR/tools (default ./build).
set -euo pipefail

die () { echo "long-run: $*" >&2; exit 2; }

MINUTES=10
THRESHOLD=2000
MACHINES=256
CONNECTIONS=16
BASE_PORT=17301
INTERVAL=10
DIR=
NO_FSYNC=
while [ $# -gt 0 ]; do
  case "$1" in
    --threshold) THRESHOLD=$2; shift 2 ;;
    --machines) MACHINES=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --no-fsync) NO_FSYNC=--no-fsync; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) MINUTES=$1; shift ;;
    *) die "unknown argument \"$1\"" ;;
  esac
done
for v in THRESHOLD MACHINES CONNECTIONS BASE_PORT INTERVAL; do
  case "${!v}" in (*[!0-9]*|'') die "$v \"${!v}\" is not a whole number";; esac
done
case "$MINUTES" in (*[!0-9.]*|'') die "MINUTES \"$MINUTES\" is not a number";; esac
THREADS=2
[ "$CONNECTIONS" -ge "$THREADS" ] || THREADS=$CONNECTIONS
# Each wrk connection has one request in flight, and a thread visits its
# machines round robin: with more machines per thread than connections, a
# request never races the previous one on the same machine.
[ "$MACHINES" -ge $((CONNECTIONS * 2)) ] || die "--machines must be at least twice --connections"

BUILD=${DSM_BUILD_DIR:-./build}
NODE_BIN=$BUILD/tools/dsm-node
[ -x "$NODE_BIN" ] || die "$NODE_BIN not found: build first (ninja -C $BUILD) or set DSM_BUILD_DIR"
command -v curl >/dev/null || die "needs curl"
if ! command -v wrk >/dev/null; then
  echo "long-run: installing wrk" >&2
  apt-get install -y wrk >/dev/null || die "wrk is missing and apt-get install -y wrk failed"
fi

DIR=${DIR:-$(mktemp -d /tmp/dsm-long-run-XXXXXX)}
mkdir -p "$DIR"
CSV=$DIR/long-run.csv

PIDS=()
WRK_PID=
cleanup () {
  if [ -n "$WRK_PID" ]; then kill "$WRK_PID" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

curl_ () { curl --noproxy '*' -fsS -m 2 "$@"; }
url () { echo "http://127.0.0.1:$((BASE_PORT + 100 + $1 - 1))"; }

# ---- the cluster ----
{
  echo '{'
  echo '  "cluster_id": "long-run",'
  echo "  \"secret\": \"$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')\","
  echo "  \"snapshot_threshold_entries\": $THRESHOLD,"
  echo '  "nodes": ['
  for i in 1 2 3; do
    sep=,; [ "$i" -eq 3 ] && sep=
    echo "    { \"id\": $i, \"peer_address\": \"127.0.0.1:$((BASE_PORT + i - 1))\", \"client_address\": \"127.0.0.1:$((BASE_PORT + 100 + i - 1))\" }$sep"
  done
  echo '  ]'
  echo '}'
} >"$DIR/cluster.json"
for i in 1 2 3; do
  # shellcheck disable=SC2086 # NO_FSYNC is empty or one word
  "$NODE_BIN" --config "$DIR/cluster.json" --id "$i" --data-dir "$DIR/node$i" $NO_FSYNC \
    >"$DIR/node$i.log" 2>&1 </dev/null &
  PIDS+=($!)
done

LEADER=
for _ in $(seq 1 150); do
  LEADER=$(curl_ "$(url 1)/v1/cluster" 2>/dev/null | sed -n 's/.*"leader_url":"\([^"]*\)".*/\1/p' || true)
  [ -n "$LEADER" ] && break
  sleep 0.1
done
[ -n "$LEADER" ] || die "no leader within 15 s (see $DIR/node*.log)"

# ---- the load ----
cat >"$DIR/cycle.lua" <<EOF
-- Each wrk thread is one client (its own client_id) owning machines
-- t<thread>-m<k>, k < $MACHINES / $THREADS, visited round robin; the state
-- asked for follows Init -> Running -> Stopped -> Init at each visit.
local counter = 1
function setup (thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local n, seq, client
local states = { "Running", "Stopped", "Init" }
function init (args)
  n = math.floor($MACHINES / $THREADS)
  seq = 0
  client = "long-run-" .. os.time() .. "-" .. tid
end
function request ()
  local k = seq % n
  local to = states[math.floor(seq / n) % 3 + 1]
  seq = seq + 1
  local body = '{"to":"' .. to .. '","client_id":"' .. client .. '","seq":' .. seq .. '}'
  return wrk.format("POST", "/v1/machines/t" .. tid .. "-m" .. k, { ["Content-Type"] = "application/json" }, body)
end
EOF
DURATION=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$DIR/cycle.lua" "$LEADER" \
  >"$DIR/wrk.txt" 2>&1 &
WRK_PID=$!

# ---- sampling ----
metric () {  # metric TEXT NAME: the sample of NAME (one per node)
  echo "$1" | awk -v n="$2" '$1 ~ "^"n"({|$)" { print $2; exit }'
}
echo "t_s,node,rss_kb,data_kb,segments,applied_total,snapshots_taken,snapshots_installed,segments_deleted,commit_index,fsyncs" >"$CSV"
sample () {
  local t=$1 i pid rss data segs m
  for i in 1 2 3; do
    pid=${PIDS[$((i - 1))]}
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    data=$(du -sk "$DIR/node$i" | cut -f1)
    segs=$(find "$DIR/node$i" -name 'seg-*.wal' | wc -l)
    m=$(curl_ "$(url "$i")/metrics" 2>/dev/null || true)
    echo "$t,$i,$rss,$data,$segs,$(metric "$m" dsm_entries_applied_total),$(metric "$m" dsm_snapshots_taken_total),$(metric "$m" dsm_snapshots_installed_total),$(metric "$m" dsm_wal_segments_deleted_total),$(metric "$m" dsm_commit_index),$(metric "$m" dsm_wal_fsyncs_total)" >>"$CSV"
  done
}
echo "long-run: $MINUTES min, snapshot_threshold_entries $THRESHOLD, $MACHINES machines, $CONNECTIONS connections," \
     "leader $LEADER, dir $DIR" >&2
START=$(date +%s)
while :; do
  sample $(( $(date +%s) - START ))
  tail -n 3 "$CSV" | awk -F, '{ printf "  t=%4ss node %s: rss %6d kB, data %6d kB, %s segments, applied %s, snapshots %s\n", $1, $2, $3, $4, $5, $6, $7 }' >&2
  kill -0 "$WRK_PID" 2>/dev/null || break
  sleep "$INTERVAL"
done
wait "$WRK_PID" || true
WRK_PID=

# ---- summary ----
echo
echo "wrk ($CONNECTIONS connections, $THREADS threads):"
grep -E "requests in|Requests/sec|Non-2xx|Socket errors|Latency" "$DIR/wrk.txt" | sed 's/^/  /'
echo
awk -F, 'NR > 1 {
    n = $2
    if (!(n in rs)) { rs[n] = $3; ds[n] = $4; ss[n] = $5; as[n] = $6 }
    re[n] = $3; de[n] = $4; se[n] = $5; ae[n] = $6; sn[n] = $7; si[n] = $8; sd[n] = $9
    if ($3 > rm[n]) rm[n] = $3
    if ($4 > dm[n]) dm[n] = $4
    if ($5 > sm[n]) sm[n] = $5
  }
  END {
    printf "%-5s %-24s %-24s %-13s %-20s %s\n", "node", "RSS kB start/end/max", "data kB start/end/max",
           "segs s/e/max", "applied start/end", "snapshots taken/installed, segments deleted"
    for (n = 1; n <= 3; n++)
      printf "%-5s %-24s %-24s %-13s %-20s %s/%s, %s\n", n, rs[n] "/" re[n] "/" rm[n], ds[n] "/" de[n] "/" dm[n],
             ss[n] "/" se[n] "/" sm[n], as[n] "/" ae[n], sn[n], si[n], sd[n]
  }' "$CSV"
echo
echo "CSV: $CSV  logs: $DIR/node*.log"
