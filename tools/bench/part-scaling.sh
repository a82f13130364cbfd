# tools/bench/part-scaling.sh: part 5, cluster size.  Real clusters of 3, 5
# and 7 nodes (dsm and etcd, 64 connections to the leader); the simulator's
# events per wall second from 3 to 51 nodes on the part-3 workload cut to
# 10 s of virtual time (with the fault at 10 s dropped), and raft_fixture's
# at 3, 5 and 7 (its maximum is 8 servers).
# shellcheck shell=bash

part_scaling () {
  local n system run json leader url w rss out
  for n in 3 5 7; do
    for system in dsm etcd; do
      cluster_up "$system" "$n"
      for run in $(seq 1 "$RUNS"); do
        measured_load scaling "n$n" "$run" leader "" --op write -c 64 -d "$DURATION" --warmup "$WARMUP" \
          --prefix "s$run" || continue
        echo "$system n$n run $run: $LAST_JSON" >>"$LOGS/scaling.log"
        say "  $system $n nodes run $run: $(jq -r '"\(.rate) ok/s p99 \(.p99_ms) ms"' <<<"$LAST_JSON")"
        record_json scaling "$system" "n$n" "$run" "$LAST_JSON" rate p50_ms p99_ms cpu_us_per_op steal_pct
      done
      cluster_down
    done
  done

  . "$HERE/part-sim.sh"   # for timed
  for n in 3 5 7 11 21 51; do
    jq ".nodes = $n | .workload.duration_ms = 10000 | .steps = [.steps[0], .steps[1]]" \
      "$HERE/sim-workload.json" >"$TMPD/sim-n$n.json"
    for run in $(seq 1 "$RUNS"); do
      read -r w rss < <(timed "$TMPD/dsm.json" "$DSM_SIM" run "$TMPD/sim-n$n.json" --seed "$run" --json) || { say "  skipped: $DSM_SIM"; continue; }
      out=$(cat "$TMPD/dsm.json")
      [ "$(jq .ok <<<"$out")" = true ] || say "warning: dsm-sim $n nodes seed $run: $(jq -r .failed_invariant <<<"$out")"
      record scaling dsm-sim "n$n" events_per_s "$run" "$(awk -v c="$(jq .events <<<"$out")" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
      record scaling dsm-sim "n$n" commits_per_s "$run" "$(awk -v c="$(jq .entries_committed <<<"$out")" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
      record scaling dsm-sim "n$n" max_rss_kb "$run" "$rss"
      echo "dsm-sim n$n run $run: wall $w $out" >>"$LOGS/scaling.log"
      if [ "$n" -le 7 ]; then
        read -r w rss < <(timed "$TMPD/raft.json" "$RAFT_FIXTURE" --nodes "$n" --seed "$run") || { say "  skipped: $RAFT_FIXTURE"; continue; }
        out=$(cat "$TMPD/raft.json")
        record scaling raft-fixture "n$n" events_per_s "$run" "$(awk -v c="$(jq .events <<<"$out")" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
        record scaling raft-fixture "n$n" commits_per_s "$run" "$(awk -v c="$(jq .committed <<<"$out")" -v w="$w" 'BEGIN {printf "%.1f", c / w}')"
        echo "raft-fixture n$n run $run: wall $w $out" >>"$LOGS/scaling.log"
      fi
    done
    say "  sim $n nodes done"
  done
}
