# tools/bench/part-limits.sh: part 4, the machine's physical limits in the
# same run: write+fdatasync of 64-byte records on the disk holding the
# clusters' data dirs, and a 64-byte TCP round trip over 127.0.0.1.
# shellcheck shell=bash

part_limits () {
  local run json s0
  for run in $(seq 1 "$RUNS"); do
    s0=$(steal_sample)
    json=$("$LIMITS" fsync "$TMPD" 3)
    say "  fsync run $run: $json"
    record_json limits disk fsync "$run" "$json" fsyncs_per_s p50_ms p99_ms
    json=$("$LIMITS" rtt 20000)
    say "  rtt run $run: $json"
    record_json limits loopback rtt "$run" "$json" rtt_p50_us rtt_p99_us rtt_min_us
    record limits host steal steal_pct "$run" "$(steal_pct "$s0" "$(steal_sample)")"
  done
}
