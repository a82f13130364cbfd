# tools/bench/part-profile.sh: where the time goes.  perf (cpu-clock
# sampling: this VM has no hardware counters) with DWARF call graphs on
#   - dsm-sim running the part-3 workload,
#   - the leader dsm-node of a 3-node cluster under 64 connections of
#     writes, twice: 2-6 s into the load (small store) and 34-38 s in
#     (~150,000 machines: what changes as the store grows),
#   - the whole machine at 8-12 s (by process and library),
# or callgrind on dsm-sim when perf cannot sample.  Reports land in
# RESULTS/profile-*.txt (perf data in RESULTS/perf/); the report quotes
# their top lines.
# shellcheck shell=bash

perf_top () {   # perf_top DATA OUT [extra perf report args...]: without unresolved frames
  local data=$1 out=$2
  shift 2
  perf report -i "$data" --stdio "$@" 2>/dev/null | grep -v '^$' | grep -v '0x0000' >"$out" || true
}

# Inclusive (with callees) and self, by library and by function.
perf_reports () {   # perf_reports DATA NAME
  perf_top "$1" "$RESULTS/profile-$2-inclusive.txt" --children --sort dso,symbol -g none --percent-limit 2
  perf_top "$1" "$RESULTS/profile-$2-self.txt" --no-children --sort dso,symbol -g none --percent-limit 0.8
  perf_top "$1" "$RESULTS/profile-$2-libraries.txt" --no-children --sort dso -g none --percent-limit 0.5
}

part_profile () {
  local url pid load_pid
  mkdir -p "$RESULTS/perf"
  if ! perf record -e cpu-clock -o "$TMPD/perf-test.data" -- true >/dev/null 2>&1; then
    say "perf cannot sample here: callgrind on dsm-sim instead"
    valgrind --tool=callgrind --callgrind-out-file="$RESULTS/callgrind.dsm-sim.out" \
      "$DSM_SIM" run "$HERE/sim-workload.json" --json >/dev/null 2>>"$LOGS/profile.err"
    callgrind_annotate "$RESULTS/callgrind.dsm-sim.out" | head -60 >"$RESULTS/profile-sim-self.txt"
    return 0
  fi

  # The simulator.
  perf record -e cpu-clock -F 1999 --call-graph dwarf,16384 -o "$RESULTS/perf/sim.data" -- \
    "$DSM_SIM" run "$HERE/sim-workload.json" --json >/dev/null 2>>"$LOGS/profile.err"
  perf_reports "$RESULTS/perf/sim.data" sim

  # The leader under 64 connections.
  cluster_up dsm 3; url=$(cluster_url leader); pid=${CL_PIDS[$((CL_LEADER - 1))]}
  "$LOAD" run --system dsm --op write --url "$url" -c 64 -d 40 --prefix p >"$TMPD/profile-load.json" 2>>"$LOGS/profile.err" &
  load_pid=$!
  bench_track $load_pid
  sleep 2
  perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$pid" -o "$RESULTS/perf/node-small.data" -- sleep 4 \
    >/dev/null 2>>"$LOGS/profile.err"
  sleep 2
  perf record -a -e cpu-clock -F 999 -o "$RESULTS/perf/machine.data" -- sleep 4 >/dev/null 2>>"$LOGS/profile.err"
  sleep 22
  dsm_curl -m 5 "$url/v1/cluster" >"$LOGS/profile-node-big-cluster.json" 2>/dev/null || true
  perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$pid" -o "$RESULTS/perf/node-big.data" -- sleep 4 \
    >/dev/null 2>>"$LOGS/profile.err"
  wait "$load_pid" || true
  record profile dsm c64-leader-under-perf rate 1 "$(jq .rate "$TMPD/profile-load.json")"
  perf_reports "$RESULTS/perf/node-small.data" node-small
  perf_reports "$RESULTS/perf/node-big.data" node-big
  perf_top "$RESULTS/perf/machine.data" "$RESULTS/profile-machine.txt" --no-children --sort comm,dso --percent-limit 0.8
  dsm_curl -m 5 "$url/metrics" >"$RESULTS/profile-node-metrics.txt" || true
  [ -z "$(cluster_dead)" ] || { say "  CRASH: a dsm node died while profiled"; record profile dsm c64-leader crashes 1 1; }
  cluster_down
  say "  profiles: $RESULTS/profile-*.txt"
}
