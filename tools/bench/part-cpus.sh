# tools/bench/part-cpus.sh: part cpus, how each system scales with cores.
# The same 64-client write load to the leader of a 3-node cluster, with the
# whole cluster and the generator confined (taskset) to 1 CPU, then to 2.  A
# machine with 16 cores is out of reach here; the 1 → 2 step says whether a
# system turns a second core into commits (docs/BENCHMARKS.md reads it).
# shellcheck shell=bash

# cpus_thread_ticks PID: user + system clock ticks of PID's main thread.
cpus_thread_ticks () {
  cut -d')' -f2- "/proc/$1/task/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}

part_cpus () {
  local cpus label system gen run all
  all=$(taskset -cp $$ | sed 's/.*: //')
  for label in cpus1 cpus2; do
    cpus=0; [ "$label" = cpus2 ] && cpus=0,1
    [ "$label" = cpus2 ] && [ "$(nproc)" -lt 2 ] && { say "  one CPU only: no 2-CPU figure"; continue; }
    for system in dsm etcd-grpc; do
      gen=bench-load; [ "$system" = etcd-grpc ] && gen=etcd-native
      # The suite's own shell is confined first, so every process it starts
      # (nodes, generator, a crashed run's fresh cluster) inherits the set
      # from its first instruction: Go's runtime sizes GOMAXPROCS from it.
      taskset -cp "$cpus" $$ >/dev/null
      cluster_up "${system%-grpc}" 3
      for run in $(seq 1 "$RUNS"); do
        local lead loop0 loop1
        lead=${CL_PIDS[$((CL_LEADER - 1))]}
        loop0=$(cpus_thread_ticks "$lead")
        GENERATOR=$gen measured_load cpus "$label" "$run" leader "" --op write -c 64 \
          -d "$DURATION" --warmup "$WARMUP" --prefix "p$run" || continue
        loop1=$(cpus_thread_ticks "$lead")
        # dsm's consensus loop is the node's main thread: its CPU per commit
        # bounds the leader at any core count.  (etcd has no such thread.)
        [ "$system" = dsm ] && [ -n "$loop0" ] && [ -n "$loop1" ] &&
          LAST_JSON=$(jq -c --argjson t "$((loop1 - loop0))" --argjson hz "$(getconf CLK_TCK)" \
                        '. + {loop_us_per_op: (if .ok > 0 then ($t / $hz * 1e6 / .ok) else null end)}' <<<"$LAST_JSON")
        echo "$system $label run $run: $LAST_JSON" >>"$LOGS/cpus.log"
        say "  $system on $label run $run: $(jq -r '"\(.rate) ok/s p99 \(.p99_ms) ms"' <<<"$LAST_JSON")"
        record_json cpus "$system" "$label" "$run" "$LAST_JSON" rate p50_ms p99_ms cpu_us_per_op loop_us_per_op steal_pct
      done
      cluster_down
      taskset -cp "$all" $$ >/dev/null
    done
  done
}
