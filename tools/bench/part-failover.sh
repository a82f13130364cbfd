# tools/bench/part-failover.sh: part 2, kill -9 of the leader under load.
# A fresh 3-node cluster per trial; 8 connections spread over the two
# followers (each forwards to the leader, dsm and etcd alike); after 3 s
# bench-load itself sends SIGKILL to the leader and measures the time to
# the first acknowledged write *sent after* the kill.  Requests get 50 ms
# before the client gives up and sends a fresh one (both systems alike),
# so a stuck request cannot hide a recovered cluster; the figure's
# resolution is therefore a few ms (8 connections x 50 ms, staggered).
# shellcheck shell=bash

part_failover () {
  local system trial pid f1 f2 json
  for system in dsm etcd; do
    for trial in $(seq 1 "$TRIALS"); do
      cluster_up "$system" 3
      pid=${CL_PIDS[$((CL_LEADER - 1))]}
      f1=${CL_URLS[$((CL_LEADER % 3))]}; f2=${CL_URLS[$(((CL_LEADER + 1) % 3))]}
      json=$(load --system "$system" --op write --url "$f1" --url "$f2" -c 8 -d 7 --prefix "f$trial" \
               --timeout-ms 50 --kill-pid "$pid" --kill-at 3 --timeline "$RESULTS/failover-$system-$trial.timeline") \
        || { cluster_down; continue; }
      echo "$system failover trial $trial (leader $CL_LEADER pid $pid): $json" >>"$LOGS/failover.log"
      say "  $system failover trial $trial: $(jq -r '"\(.failover_ms) ms to the next committed write"' <<<"$json")"
      record_json failover "$system" c8-kill-leader "$trial" "$json" failover_ms
      [ "$(cluster_dead | wc -l)" -gt 1 ] && { say "  CRASH: more than the killed node died"; record failover "$system" c8-kill-leader crashes "$trial" 1; }
      cluster_down
    done
  done
}
