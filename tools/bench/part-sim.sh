# tools/bench/part-sim.sh: part 3, the simulator against canonical/raft's
# raft_fixture on the same workload (tools/bench/sim-workload.json and
# raft-fixture-bench.c: 5 nodes, 32 commands in flight, 10% loss, the
# leader isolated or killed for 2 s every 10 s).  Both are timed as whole
# processes; peak memory is GNU time's maximum RSS.  dsm-sim checks every
# invariant on every event; its run lasts 30 s of virtual time and commits
# well over 20,000 entries; raft_fixture stops at 20,000 commands.
# shellcheck shell=bash

# timed OUTFILE CMD...: runs CMD, stdout to OUTFILE; prints "wall_s rss_kb
# steal_pct".  A run during which the host stole more than $STEAL_MAX% of
# the CPU is run again (lib.sh, "the host's steal time").
timed () {
  local out=$1 t0 t1 rss s0 s1 steal tries=0
  shift
  while :; do
    s0=$(steal_sample); t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$TMPD/time.out" timeout 600 "$@" >"$out" 2>>"$LOGS/sim.err" || {
      say "command failed: $* (see $LOGS/sim.err)"; return 1; }
    t1=$(date +%s%N); s1=$(steal_sample)
    steal=$(steal_pct "$s0" "$s1")
    if steal_high "$steal" && [ "$tries" -lt "$STEAL_RETRIES" ]; then
      tries=$((tries + 1))
      say "  the host stole $steal% of the CPU during $(basename "$1") (limit $STEAL_MAX%): running it again"
      continue
    fi
    break
  done
  rss=$(tail -1 "$TMPD/time.out")
  echo "$(( (t1 - t0) / 1000 ))e-6 $rss $steal" | awk '{printf "%.4f %d %s\n", $1, $2, $3}'
}

part_sim () {
  local run out w rss steal committed events seeds
  for run in $(seq 1 "$RUNS"); do
    read -r w rss steal < <(timed "$TMPD/raft.json" "$RAFT_FIXTURE" --seed "$run") || { say "  skipped: $RAFT_FIXTURE"; continue; }
    out=$(cat "$TMPD/raft.json")
    committed=$(jq .committed <<<"$out"); events=$(jq .events <<<"$out")
    echo "raft-fixture run $run: wall $w rss $rss $out" >>"$LOGS/sim.log"
    record sim raft-fixture n5 commits_per_s "$run" "$(awk -v c="$committed" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
    record sim raft-fixture n5 events_per_s "$run" "$(awk -v c="$events" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
    record sim raft-fixture n5 max_rss_kb "$run" "$rss"
    record sim raft-fixture n5 committed "$run" "$committed"
    record sim raft-fixture n5 steal_pct "$run" "$steal"
    say "  raft-fixture run $run: $committed commands in $w s, $events events, $rss kB"

    read -r w rss steal < <(timed "$TMPD/dsm.json" "$DSM_SIM" run "$HERE/sim-workload.json" --seed "$run" --json) || { say "  skipped: $DSM_SIM"; continue; }
    out=$(cat "$TMPD/dsm.json")
    [ "$(jq .ok <<<"$out")" = true ] || die "dsm-sim: an invariant failed on the benchmark workload: $out"
    committed=$(jq .entries_committed <<<"$out"); events=$(jq .events <<<"$out")
    echo "dsm-sim run $run: wall $w rss $rss $out" >>"$LOGS/sim.log"
    record sim dsm-sim n5 commits_per_s "$run" "$(awk -v c="$committed" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
    record sim dsm-sim n5 events_per_s "$run" "$(awk -v c="$events" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
    record sim dsm-sim n5 max_rss_kb "$run" "$rss"
    record sim dsm-sim n5 committed "$run" "$committed"
    record sim dsm-sim n5 steal_pct "$run" "$steal"
    record sim dsm-sim n5 acked_per_s "$run" "$(awk -v c="$(jq .commits <<<"$out")" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
    say "  dsm-sim run $run: $committed entries ($(jq .commits <<<"$out") acknowledged) in $w s, $events events, $rss kB"

    seeds=${BENCH_EXPLORE_SEEDS:-2000}
    read -r w rss steal < <(timed "$TMPD/explore.out" "$DSM_SIM" explore --seeds "$seeds" --first $(( (run - 1) * seeds + 1 )) \
                        -q --out "$TMPD/explore-failures") || { say "  explore failed"; continue; }
    record sim dsm-sim explore seeds_per_min "$run" "$(awk -v c="$seeds" -v w="$w" 'BEGIN {printf "%.0f", c * 60 / w}')"
    say "  dsm-sim explore run $run: $seeds seeds in $w s"
  done
}
