# tools/bench/part-http.sh: the HTTP servers dsm could serve its API with,
# side by side on one trivial endpoint (GET /healthz, a 40-byte JSON
# answer): libsoup 3's SoupServer on one loop (what dsm used), libmicrohttpd
# with its epoll thread pool, dsm's own server answering on its workers, and
# dsm's own server handing each request to a loop thread and back (dsm's real
# path).  wrk -t2 -c64 on loopback; the server's CPU from /proc, per request.
# shellcheck shell=bash

# proc_cpu_us PID: user + system CPU of PID so far, in microseconds.
proc_cpu_us () {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000000 / hz }' "/proc/$1/stat"
}

# wrk_p99_ms OUTPUT: the 99% line of wrk --latency, in ms.
wrk_p99_ms () {
  awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
       if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v }' <<<"$1"
}

http_server_run () {
  local server=$1 run=$2 port pid out rate requests cpu0 cpu1 p99
  port=$(pick_ports 1)
  "$HTTP_SERVERS" --server "$server" --port "$port" --threads 2 >"$TMPD/http-$server.out" 2>>"$LOGS/http.err" &
  pid=$!
  bench_track "$pid"
  for _ in $(seq 1 100); do grep -q '^ready' "$TMPD/http-$server.out" 2>/dev/null && break; sleep 0.05; done
  grep -q '^ready' "$TMPD/http-$server.out" || { say "  $server did not start"; kill "$pid" 2>/dev/null; return 1; }
  cpu0=$(proc_cpu_us "$pid")
  out=$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$port/healthz" 2>>"$LOGS/http.err") || true
  cpu1=$(proc_cpu_us "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$server run $run: $out" >>"$LOGS/http.log"
  rate=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  p99=$(wrk_p99_ms "$out")
  [ -n "$rate" ] && [ -n "$requests" ] && [ "$requests" -gt 0 ] || { say "  $server run $run: no wrk figures"; return 1; }
  record http "$server" c64 rate "$run" "$rate"
  record http "$server" c64 p99_ms "$run" "$p99"
  record http "$server" c64 cpu_us_per_op "$run" "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$requests" 'BEGIN { printf "%.2f", (b - a) / n }')"
  say "  $server run $run: $rate requests/s, p99 $p99 ms, $(awk -v a="$cpu0" -v b="$cpu1" -v n="$requests" 'BEGIN { printf "%.1f", (b - a) / n }') us of server CPU per request"
}

part_http () {
  local server run
  HTTP_SERVERS=$BUILD/tools/bench/bench-http-servers
  [ -x "$HTTP_SERVERS" ] || die "$HTTP_SERVERS is not built"
  for server in soup mhd dsm dsm-loop; do
    if ! "$HTTP_SERVERS" --list | grep -qx "$server"; then
      say "  $server: not built (libmicrohttpd-dev missing?)"; continue
    fi
    for run in $(seq 1 "$RUNS"); do http_server_run "$server" "$run" || true; done
  done
}
