#!/usr/bin/env bash
# tools/bench/abuse.sh: issue 10's HTTP attacks against the leader of a fresh
# 3-node loopback cluster, one after the other, while its consensus loop, the
# leadership and /healthz are watched (docs/BENCHMARKS.md, "Client abuse").
#
#   tools/bench/abuse.sh [BUILD_DIR]          default: build-bench, else build
#
# For each attack it prints one JSON line: bench-abuse's own figures, the
# epoch every node reports before and after (a leader change raises it), the
# leader's late timers during the attack (dsm_host_late_timers_total: the
# loop ran over 50 ms late) and the latest one so far, /healthz through the
# attack (answered by the consensus loop: max latency, failures), and the
# leader's RSS before and after.  Measurements, not assertions.
# Environment: DSM_CLUSTER (the script that starts the cluster, default
# tools/dsm-cluster), ABUSE_SECONDS (20), ABUSE_SLOW (2000 slowloris
# connections), ABUSE_IDLE (6000 idle connections), ABUSE_MB (100).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-}
[ -n "$BUILD" ] || { [ -x "$REPO/build-bench/tools/dsm-node" ] && BUILD=$REPO/build-bench || BUILD=$REPO/build; }
CLUSTER=${DSM_CLUSTER:-$REPO/tools/dsm-cluster}
ABUSE=${ABUSE_BIN:-$REPO/build/tools/bench/bench-abuse}
SECONDS_EACH=${ABUSE_SECONDS:-20}
[ -x "$ABUSE" ] || { echo "abuse: $ABUSE is not built (ninja -C build tools/bench/bench-abuse)" >&2; exit 1; }
command -v jq >/dev/null || { echo "abuse: needs jq" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/dsm-abuse.XXXXXX")
PROBE_PID=
cleanup () {
  [ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2>/dev/null || true
  DSM_BUILD_DIR=$BUILD "$CLUSTER" down --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

port_free () { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
while :; do
  base=$(( 20000 + RANDOM % 30000 )); ok=1
  for i in 0 1 2; do port_free $((base + i)) && port_free $((base + 100 + i)) || ok=0; done
  [ $ok = 1 ] && break
done
DSM_BUILD_DIR=$BUILD "$CLUSTER" up -n 3 --dir "$DIR" --base-port "$base" >"$DIR/up.out" 2>"$DIR/up.err" \
  || { cat "$DIR/up.err" >&2; exit 1; }
TOKEN=$(awk '/^admin/ {print $2; exit}' "$DIR/tokens" 2>/dev/null || true)
api () { curl --noproxy '*' -fsS -m 5 ${TOKEN:+-H "Authorization: Bearer $TOKEN"} "$@"; }
mapfile -t URLS < <(grep '^http' "$DIR/up.out")

# The leader's id, waiting up to 60 s for the cluster to have one again.
leader_id () {
  local u id
  for _ in $(seq 1 120); do
    for u in "${URLS[@]}"; do
      id=$(api "$u/v1/cluster" 2>/dev/null | jq -r '.leader // empty' 2>/dev/null || true)
      [ -n "$id" ] && [ "$id" != null ] && { echo "$id"; return 0; }
    done
    sleep 0.5
  done
  echo "abuse: no leader within 60 s" >&2
  return 1
}
epochs () { for u in "${URLS[@]}"; do { api "$u/v1/cluster" 2>/dev/null || echo '{}'; } | jq -r '.epoch // "down"'; done | paste -sd, -; }
metric () { { api "$1/metrics" 2>/dev/null || true; } | awk -v m="$2" '$1 ~ "^"m"[{ ]" || $1 == m { print $2; exit }'; }
rss_kb () { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# /healthz every 200 ms, each answer's time (or a failure), into $DIR/probe.
# From 127.0.0.2: another client than the attacker (127.0.0.1), whose
# address the per-address connection cap fills.
probe () {
  while :; do
    curl --noproxy '*' --interface 127.0.0.2 -s -o /dev/null -m 5 -w '%{http_code} %{time_total}\n' "$1/healthz" \
      >>"$DIR/probe" || echo "000 5" >>"$DIR/probe"
    sleep 0.2
  done
}

attack () {
  local name=$1; shift
  local id url pid e0 e1 late0 late1 max rss0 rss1 out hmax hfail
  id=$(leader_id) || return 0
  url=${URLS[$((id - 1))]}; pid=$(cat "$DIR/node$id.pid")
  hostport=${url#http://}
  e0=$(epochs); late0=$(metric "$url" dsm_host_late_timers_total); rss0=$(rss_kb "$pid")
  : >"$DIR/probe"
  probe "$url" & PROBE_PID=$!
  out=$("$ABUSE" "$name" --url "$hostport" "$@" 2>&1 || true)
  kill "$PROBE_PID" 2>/dev/null || true; wait "$PROBE_PID" 2>/dev/null || true; PROBE_PID=
  sleep 1
  e1=$(epochs); late1=$(metric "$url" dsm_host_late_timers_total); max=$(metric "$url" dsm_host_late_timer_max_seconds)
  rss1=$(rss_kb "$pid" 2>/dev/null || echo 0)
  hmax=$(awk '{ if ($2 > m) m = $2 } END { printf "%.3f", m }' "$DIR/probe")
  hfail=$(awk '$1 != 200 { n++ } END { print n + 0 }' "$DIR/probe")
  jq -cn --arg attack "$name" --argjson abuse "${out:-null}" --arg e0 "$e0" --arg e1 "$e1" \
    --arg late "$(( ${late1:-0} - ${late0:-0} ))" --arg max "${max:-?}" --arg hmax "$hmax" --arg hfail "$hfail" \
    --arg probes "$(wc -l <"$DIR/probe")" --arg rss0 "$rss0" --arg rss1 "$rss1" \
    '{attack: $attack, abuse: $abuse, epochs_before: $e0, epochs_after: $e1, late_timers: ($late | tonumber),
      late_timer_max_s: $max, healthz_max_s: ($hmax | tonumber), healthz_failed: ($hfail | tonumber),
      healthz_probes: ($probes | tonumber), leader_rss_kb_before: ($rss0 | tonumber), leader_rss_kb_after: ($rss1 | tonumber)}'
}

attack body --mb "${ABUSE_MB:-100}"
attack slowloris -c "${ABUSE_SLOW:-2000}" -d "$SECONDS_EACH" --interval-ms 2000
attack idle -c "${ABUSE_IDLE:-6000}" -d "$SECONDS_EACH"
