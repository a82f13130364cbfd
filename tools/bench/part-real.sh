# tools/bench/part-real.sh: part 1, a 3-node dsm cluster against a 3-node
# etcd cluster, both with fsync on, on 127.0.0.1, driven by the same
# generator (bench-load, HTTP/JSON) and, for etcd, also by its native gRPC
# client (etcd-native, the path etcd users take), for dsm by its native
# protocol (bench-native, libdsm-client; recorded as dsm-native): writes at 1, 8 and 64
# clients to the leader and to a follower, then a check that every
# acknowledged write is on every node, then linearizable reads at 64
# clients.  A fresh cluster per (system, clients, node) configuration.
# shellcheck shell=bash

# real_write_runs SYSTEM-LABEL CONFIG TARGET CONNS ALL_ACKED PREFIX [RUN...]:
# write runs (the given ones, or 1 to $RUNS) with the current GENERATOR,
# recorded under SYSTEM-LABEL.
real_write_runs () {
  local label=$1 config=$2 target=$3 conns=$4 all_acked=$5 prefix=$6 run acked runs
  shift 6
  runs=${*:-$(seq 1 "$RUNS")}
  for run in $runs; do
    acked=$TMPD/acked-$label-$config-$run
    measured_load real "$config" "$run" "$target" "$all_acked" --op write -c "$conns" -d "$DURATION" \
      --warmup "$WARMUP" --prefix "$prefix$run" --acked "$acked" || continue
    echo "$label $config run $run: $LAST_JSON" >>"$LOGS/real.log"
    say "  $label writes $config run $run: $(jq -r '"\(.rate) ok/s p50 \(.p50_ms) ms p99 \(.p99_ms) ms max \(.max_ms) ms"' <<<"$LAST_JSON")"
    record_json real "$label" "$config" "$run" "$LAST_JSON" rate p50_ms p99_ms max_ms ok cpu_us_per_op steal_pct
    record real "$label" "$config" errors "$run" "$(jq '[.errors[]] | add' <<<"$LAST_JSON")"
    record real "$label" "$config" acked "$run" "$(wc -l <"$acked")"
    cat "$acked" >>"$all_acked"
  done
}

# real_write_config SYSTEM CONNS TARGET(leader|follower): for etcd, both its
# client paths on the same cluster: the JSON gateway (bench-load, recorded as
# etcd) and the native gRPC client (etcd-native, recorded as etcd-grpc).
real_write_config () {
  local system=$1 conns=$2 target=$3 config all_acked worst rt
  config="c$conns-$target"
  # The disk's fsync rate right before, for part 4's comparisons.
  record limits disk fsync-adjacent fsyncs_per_s "$system-$config" "$(jq .fsyncs_per_s <<<"$("$LIMITS" fsync "$TMPD" 1)")"
  cluster_up "$system" 3
  all_acked=$TMPD/acked-$system-$config
  : >"$all_acked"
  # Each system's second client path: etcd's gRPC client, dsm's native
  # protocol through libdsm-client (docs/CLIENT.md).  The two paths take
  # turns run by run, in alternating order: every write grows the store,
  # and the path that always ran second measured a store larger by all
  # of the first one's writes (dsm's snapshots cost O(store): see
  # docs/BENCHMARKS.md, "Snapshots of a large store").
  local second=etcd-native label2=etcd-grpc prefix2=wg run gen
  [ "$system" = dsm ] && { second=bench-native; label2=dsm-native; prefix2=wn; }
  for run in $(seq 1 "$RUNS"); do
    for gen in $([ $((run % 2)) = 1 ] && echo "bench-load $second" || echo "$second bench-load"); do
      if [ "$gen" = bench-load ]; then
        GENERATOR=bench-load real_write_runs "$system" "$config" "$target" "$conns" "$all_acked" w "$run"
      else
        GENERATOR=$gen real_write_runs "$label2" "$config" "$target" "$conns" "$all_acked" "$prefix2" "$run"
      fi
    done
  done

  # Every acknowledged write must be on every node.
  worst=$(cluster_verify "$all_acked" "$system-$config")
  record real "$system" "$config" acked_all 1 "$(wc -l <"$all_acked")"
  record real "$system" "$config" missing 1 "$worst"
  say "  $system $config: $(wc -l <"$all_acked") acknowledged writes checked, missing on the worst node: $worst"
  # Leader changes during the write runs, and for dsm the longest stall of a loop.
  record real "$system" "$config" leader_changes 1 "$(cluster_leader_changes)"
  [ "$system" = dsm ] && record real dsm "$config" loop_late_max_ms 1 "$(dsm_loop_late_max)"

  # At 64 connections to the leader: the WAL's group commit, then linearizable reads.
  if [ "$conns" = 64 ] && [ "$target" = leader ]; then
    [ "$system" = dsm ] && { dsm_curl -m 5 "$(cluster_url leader)/metrics" >"$LOGS/dsm-leader-metrics-c64.txt" || true; }
    shuf -n 20000 "$all_acked" >"$TMPD/read-keys-$system"
    local gen label generators=bench-load
    [ "$system" = etcd ] && generators="bench-load etcd-native"
    [ "$system" = dsm ] && generators="bench-load bench-native"
    for gen in $generators; do
      label=$system; [ "$gen" = etcd-native ] && label=etcd-grpc; [ "$gen" = bench-native ] && label=dsm-native
      for rt in leader follower; do
        for run in $(seq 1 "$RUNS"); do
          # After a crash the fresh cluster has none of these keys: reads would miss.
          GENERATOR=$gen measured_load real "reads-c64-$rt" "$run" "$rt" "" --op read -c 64 -d "$DURATION" \
            --warmup "$WARMUP" --keys "$TMPD/read-keys-$system" || continue
          echo "$label reads-c64-$rt run $run: $LAST_JSON" >>"$LOGS/real.log"
          say "  $label reads c64-$rt run $run: $(jq -r '"\(.rate) ok/s p50 \(.p50_ms) ms p99 \(.p99_ms) ms"' <<<"$LAST_JSON")"
          record_json real "$label" "reads-c64-$rt" "$run" "$LAST_JSON" rate p50_ms p99_ms max_ms cpu_us_per_op steal_pct
          record real "$label" "reads-c64-$rt" errors "$run" "$(jq '[.errors[]] | add' <<<"$LAST_JSON")"
        done
      done
    done
    # The cross-check: wrk with a Lua script, same writes, one run.
    local w
    if w=$(timeout $((DURATION + 60)) wrk -t2 -c64 -d"${DURATION}s" -s "$HERE/wrk-write.lua" "$(cluster_url leader)" \
             -- "$system" wrk 2>>"$LOGS/wrk.err" | tail -n 1) && jq -e .rate <<<"$w" >/dev/null 2>&1; then
      echo "$system c64-leader wrk: $w" >>"$LOGS/real.log"
      say "  $system wrk cross-check c64-leader: $(jq -r '"\(.rate) ok/s p50 \(.p50_ms) ms p99 \(.p99_ms) ms, \(.bad) not 200"' <<<"$w")"
      record_json real "$system" c64-leader-wrk 1 "$w" rate p50_ms p99_ms max_ms bad
    else
      say "  wrk cross-check failed (see $LOGS/wrk.err)"
    fi
  fi
  cluster_down
}

part_real () {
  local system conns target
  for conns in ${BENCH_REAL_CLIENTS:-1 8 64}; do
    for target in ${BENCH_REAL_TARGETS:-leader follower}; do
      for system in ${BENCH_REAL_SYSTEMS:-dsm etcd}; do
        real_write_config "$system" "$conns" "$target"
      done
    done
  done
}
