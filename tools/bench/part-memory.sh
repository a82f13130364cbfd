# tools/bench/part-memory.sh: the memory target, a 3-node cluster (fsync on)
# under steady full load for BENCH_MEMORY_MINUTES (10) minutes through
# long-run.sh (wrk, 64 connections cycling 512 machines through their
# lifecycle with client ids and sequences): each node's RSS and data
# directory sampled every 10 s.  Flat means the RSS at the end is within
# 10% of the RSS one minute in (after warm-up: allocator arenas, the first
# snapshots), and the data directory stays bounded by snapshots.
# shellcheck shell=bash

part_memory () {
  local minutes=${BENCH_MEMORY_MINUTES:-10} dir=$TMPD/memory base csv node rate
  [ "${BENCH_QUICK:-0}" = 1 ] && minutes=${BENCH_MEMORY_MINUTES:-1}
  base=$(pick_ports 3)
  say "  long run: $minutes min, 64 connections, ports $base.. (log: $LOGS/memory.log)"
  if ! DSM_BUILD_DIR=$BUILD timeout $((minutes * 60 + 120)) "$HERE/long-run.sh" "$minutes" \
        --connections 64 --machines 512 --base-port "$base" --dir "$dir" >"$LOGS/memory.log" 2>&1; then
    say "  long-run.sh failed (see $LOGS/memory.log)"
    return 0
  fi
  csv=$dir/long-run.csv
  cp "$csv" "$LOGS/memory.csv"
  cp "$dir"/node*.log "$LOGS/" 2>/dev/null || true
  for node in 1 2 3; do
    # start: the first sample at least 60 s in; end: the last sample.
    awk -F, -v n="$node" -v OFS='\t' 'NR > 1 && $2 == n {
        if (start == "" && $1 >= 60) start = $3
        end = $3; if ($3 > rmax) rmax = $3; if ($4 > dmax) dmax = $4; if ($5 > smax) smax = $5
        dend = $4; applied = $6; snaps = $7
      }
      END {
        print "rss_kb_1min", start; print "rss_kb_end", end; print "rss_kb_max", rmax
        print "rss_growth", (start > 0 ? end / start : "")
        print "data_kb_end", dend; print "data_kb_max", dmax; print "segments_max", smax
        print "applied", applied; print "snapshots", snaps
      }' "$csv" | while IFS=$'\t' read -r metric value; do
        [ -n "$value" ] && record memory dsm "node$node" "$metric" 1 "$value"
      done
  done
  rate=$(awk '/Requests\/sec/ { print $2 }' "$dir/wrk.txt" 2>/dev/null || true)
  [ -n "$rate" ] && record memory dsm load rate 1 "$rate"
  record memory dsm load minutes 1 "$minutes"
  say "  $(grep -A4 '^node ' "$LOGS/memory.log" | tr '\n' ' ' | cut -c1-400)"
}
