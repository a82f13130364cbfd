# tools/bench/lib.sh: what every part of the benchmark suite shares:
# packages, the build, free ports, temp dirs, starting and stopping dsm and
# etcd clusters, recording figures.  Sourced by tools/bench/run.
# shellcheck shell=bash

BENCH_PACKAGES="gcc pkg-config meson ninja-build libglib2.0-dev libjson-glib-dev libsoup-3.0-dev zlib1g-dev
  curl jq time etcd-server etcd-client libraft-dev wrk gnuplot-nox hyperfine linux-perf valgrind libmicrohttpd-dev
  golang-go golang-etcd-server-dev"

say () { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die () { printf 'bench: %s\n' "$*" >&2; exit 1; }
now_ms () { date +%s%3N; }

# Installs the peers and tools from Debian's packages when missing.
bench_install_packages () {
  local p missing=""
  for p in $BENCH_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (installing them needs root):$missing"
  say "installing$missing"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null \
    || die "apt-get install$missing failed"
  # Debian's etcd-server may start a system etcd on 2379; ours use other ports.
}

# Configures and builds $BUILD (an optimized build of its own, with -g for perf).
bench_build () {
  if [ ! -f "$BUILD/build.ninja" ]; then
    say "configuring $BUILD"
    meson setup "$BUILD" "$REPO" --buildtype=debugoptimized >"$LOGS/meson-setup.log" 2>&1 \
      || { tail -20 "$LOGS/meson-setup.log" >&2; die "meson setup failed (see $LOGS/meson-setup.log)"; }
  fi
  ninja -C "$BUILD" tools/dsm-node tools/dsm-sim tools/bench/bench-load tools/bench/bench-native tools/bench/bench-limits \
    tools/bench/raft-fixture-bench tools/bench/bench-http-servers >"$LOGS/ninja.log" 2>&1 \
    || { tail -30 "$LOGS/ninja.log" >&2; die "build failed (see $LOGS/ninja.log)"; }
  LOAD=$BUILD/tools/bench/bench-load
  DSM_NATIVE_LOAD=$BUILD/tools/bench/bench-native
  # etcd's native client path (tools/bench/etcd-native), from Debian's
  # clientv3 sources, offline: no module download, GOPATH only.
  ETCD_NATIVE=$BUILD/tools/bench/etcd-native
  if [ ! -x "$ETCD_NATIVE" ] || [ "$REPO/tools/bench/etcd-native/main.go" -nt "$ETCD_NATIVE" ]; then
    say "building tools/bench/etcd-native (go, GOPATH /usr/share/gocode)"
    (cd "$REPO/tools/bench/etcd-native" &&
       GO111MODULE=off GOPATH="$BUILD/gopath:/usr/share/gocode" GOCACHE="$BUILD/gocache" GOFLAGS= \
       go build -o "$ETCD_NATIVE" .) >"$LOGS/go-build.log" 2>&1 \
      || { tail -20 "$LOGS/go-build.log" >&2; die "go build of etcd-native failed (see $LOGS/go-build.log)"; }
  fi
  LIMITS=$BUILD/tools/bench/bench-limits
  RAFT_FIXTURE=$BUILD/tools/bench/raft-fixture-bench
  DSM_SIM=$BUILD/tools/dsm-sim
}

# ---- cleanup: every process we start is listed in $TMPD/pids ----

bench_track () { echo "$1" >>"$TMPD/pids"; }

bench_kill_all () {
  local pid
  [ -f "$TMPD/pids" ] || return 0
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$TMPD/pids"
  sleep 0.3
  while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$TMPD/pids"
  : >"$TMPD/pids"
}

bench_cleanup () {
  bench_kill_all
  local f
  for f in "$TMPD"/*/node*.log "$TMPD"/*/e*.log; do
    [ -f "$f" ] && mkdir -p "$LOGS/left-over" && cp "$f" "$LOGS/left-over/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then say "kept $TMPD"; else rm -rf "$TMPD"; fi
}

# ---- noise: this machine may be shared ----
# bench_noise LABEL: appends the load average and the processes that are not
# the suite's (not under $TMPD or $BUILD) and used more than 10% of a CPU
# over the last second to noise.txt: the report shows it.
bench_noise () {
  {
    printf '%s %s  load %s\n' "$(date +%H:%M:%S)" "$1" "$(cut -d' ' -f1-3 /proc/loadavg)"
    top -b -c -n 2 -d 1 -w 400 2>/dev/null | awk -v tmp="$TMPD" -v build="$BUILD/" '
      /^top -/ { block++ }
      block == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 > 10 && index($0, tmp) == 0 && index($0, build) == 0 && $12 != "top" {
        cmd = ""; for (i = 12; i <= NF && i < 16; i++) cmd = cmd " " $i
        print "    " $9 "% pid " $1 ":" substr(cmd, 1, 110) }' || true
  } >>"$RESULTS/noise.txt"
}

# ---- the host's steal time ----
# On a virtual machine the hypervisor can take the vCPUs away: /proc/stat's
# "steal".  On 3 December 2026 it took 28-47% of the CPU during dsm's runs
# and about 0 during etcd's, which made that run's ratios the host's.  So
# every measured run records the share of the machine's CPU time stolen
# while it ran (steal_pct); a run above BENCH_STEAL_MAX percent (default 5)
# is run again, up to BENCH_STEAL_RETRIES times (default 2), and the report
# marks every figure whose kept runs were stolen from.
STEAL_MAX=${BENCH_STEAL_MAX:-5}
STEAL_RETRIES=${BENCH_STEAL_RETRIES:-2}

# steal_sample: prints "STEAL TOTAL", the machine's cumulative ticks.
steal_sample () {
  awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat
}

# steal_pct "S0 T0" "S1 T1": the stolen share of the CPU time between two samples, in percent.
steal_pct () {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
    d = y[2] - x[2]; v = (d > 0) ? 100 * (y[1] - x[1]) / d : 0; printf "%.1f\n", v }'
}

# steal_high PCT: true when PCT is above the limit.
steal_high () { awk -v p="$1" -v m="$STEAL_MAX" 'BEGIN { exit !(p > m) }'; }

# ---- ports ----

port_free () { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }

# Prints a base port P such that P..P+COUNT-1, P+100..P+100+COUNT-1 and
# P+200..P+200+COUNT-1 (the native ports) are free.
pick_ports () {
  local count=$1 try base i ok
  for try in $(seq 1 200); do
    base=$(( 20000 + (RANDOM * 7 + try * 211) % 30000 ))
    ok=1
    for i in $(seq 0 $((count - 1))); do
      port_free $((base + i)) && port_free $((base + 100 + i)) && port_free $((base + 200 + i)) || { ok=0; break; }
    done
    [ $ok = 1 ] && { echo "$base"; return 0; }
  done
  die "no free port range found"
}

# ---- recording ----
# raw.tsv: part, system, config, metric, run, value (one figure per line).

record () { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/raw.tsv"; }

# record_json PART SYSTEM CONFIG RUN JSON KEY...: one row per key of JSON.
record_json () {
  local part=$1 system=$2 config=$3 run=$4 json=$5 key v
  shift 5
  for key in "$@"; do
    v=$(jq -r ".$key // empty" <<<"$json")
    [ -n "$v" ] && [ "$v" != null ] && record "$part" "$system" "$config" "$key" "$run" "$v"
  done
  return 0
}

# ---- dsm clusters ----
# dsm_up N: starts a fresh N-node cluster; sets DSM_DIR, DSM_URLS (array).

dsm_up () {
  local n=$1 base out
  base=$(pick_ports "$n")
  DSM_DIR=$TMPD/dsm-$n-$(date +%s%N)
  mkdir -p "$DSM_DIR"
  if ! out=$(DSM_BUILD_DIR=$BUILD timeout 60 "$REPO/tools/dsm-cluster" up -n "$n" --dir "$DSM_DIR" \
               --base-port "$base" 2>&1); then
    for f in "$DSM_DIR"/node*.pid; do [ -f "$f" ] && bench_track "$(cat "$f")"; done
    echo "$out" >&2
    die "dsm cluster of $n failed to start (logs in $DSM_DIR)"
  fi
  for f in "$DSM_DIR"/node*.pid; do bench_track "$(cat "$f")"; done
  mapfile -t DSM_URLS < <(grep '^http' <<<"$out")
  [ "${#DSM_URLS[@]}" -eq "$n" ] || die "dsm-cluster printed ${#DSM_URLS[@]} URLs, expected $n"
  # The cluster's admin token: bench-load, wrk-write.lua and dsm_curl send it.
  DSM_TOKEN=$(awk '/^admin/ {print $2; exit}' "$DSM_DIR/tokens")
  export DSM_TOKEN
}

# curl to a dsm node, with the cluster's token.
dsm_curl () { curl --noproxy '*' -fsS ${DSM_TOKEN:+-H "Authorization: Bearer $DSM_TOKEN"} "$@"; }

dsm_down () {
  DSM_BUILD_DIR=$BUILD timeout 30 "$REPO/tools/dsm-cluster" down --dir "$DSM_DIR" >/dev/null 2>&1 || true
  local f
  for f in "$DSM_DIR"/node*.log; do cp "$f" "$LOGS/$(basename "$DSM_DIR")-$(basename "$f")" 2>/dev/null || true; done
  rm -rf "$DSM_DIR"
}

# Prints the leader's node id (1-based), waiting up to 10 s.
dsm_leader () {
  local deadline=$(( $(now_ms) + 10000 )) u id
  while [ "$(now_ms)" -lt "$deadline" ]; do
    for u in "${DSM_URLS[@]}"; do
      id=$(dsm_curl -m 1 "$u/v1/cluster" 2>/dev/null | jq -r '.leader // empty' 2>/dev/null)
      [ -n "$id" ] && [ "$id" != null ] && { echo "$id"; return 0; }
    done
    sleep 0.1
  done
  die "dsm cluster has no leader (logs in $DSM_DIR)"
}

dsm_pid () { cat "$DSM_DIR/node$1.pid"; }

# Waits until every node applied what the leader had committed, up to 20 s.
dsm_wait_converged () {
  local leader=$1 target deadline u applied ok
  target=$(dsm_curl -m 5 "${DSM_URLS[$((leader - 1))]}/v1/cluster" 2>/dev/null | jq -r '.commit_index // empty')
  [ -n "$target" ] || { say "dsm: leader $leader does not answer /v1/cluster"; return 1; }
  deadline=$(( $(now_ms) + 20000 ))
  while :; do
    ok=1
    for u in "${DSM_URLS[@]}"; do
      applied=$(dsm_curl -m 2 "$u/v1/cluster" 2>/dev/null | jq -r '.applied_index // 0')
      [ "${applied:-0}" -ge "$target" ] || ok=0
    done
    [ $ok = 1 ] && return 0
    [ "$(now_ms)" -lt "$deadline" ] || { say "dsm: nodes did not converge to $target within 20 s"; return 1; }
    sleep 0.2
  done
}

# dsm_list URL FILE: every machine the node applied, read page by page
# (GET /v1/machines?cursor=&limit=) into one {"machines": [...]}.
dsm_list () {
  local url=$1 out=$2 cursor=0 page=$2.page n=0
  while [ "$cursor" != null ]; do
    dsm_curl -m 30 "$url/v1/machines?limit=10000&cursor=$cursor" -o "$page.$n" || return 1
    cursor=$(jq -r .next_cursor "$page.$n") || return 1
    n=$((n + 1))
  done
  jq -s '{machines: (map(.machines) | add)}' "$page".* >"$out"
  local status=$?
  rm -f "$page".*
  return $status
}

# ---- etcd clusters ----
# etcd_up N: starts a fresh N-member etcd (defaults: fsync on, 100 ms
# heartbeat, 1 s election timeout); sets ETCD_DIR, ETCD_URLS, ETCD_PIDS.

etcd_up () {
  local n=$1 base i cluster="" deadline ok
  base=$(pick_ports "$n")
  ETCD_DIR=$TMPD/etcd-$n-$(date +%s%N)
  mkdir -p "$ETCD_DIR"
  for i in $(seq 1 "$n"); do
    cluster="$cluster${cluster:+,}e$i=http://127.0.0.1:$((base + i - 1))"
  done
  ETCD_URLS=(); ETCD_PIDS=(); ETCD_BASE=$base; ETCD_CLUSTER=$cluster
  for i in $(seq 1 "$n"); do etcd_start "$i"; done
  deadline=$(( $(now_ms) + 30000 ))
  while :; do
    ok=1
    for i in $(seq 1 "$n"); do
      kill -0 "${ETCD_PIDS[$((i - 1))]}" 2>/dev/null || {
        tail -5 "$ETCD_DIR/e$i.log" >&2; die "etcd member $i exited (log: $ETCD_DIR/e$i.log)"; }
      curl --noproxy '*' -fsS -m 1 "${ETCD_URLS[$((i - 1))]}/health" 2>/dev/null | grep -q '"true"' || ok=0
    done
    [ $ok = 1 ] && etcd_leader >/dev/null 2>&1 && return 0
    [ "$(now_ms)" -lt "$deadline" ] || die "etcd cluster of $n not healthy within 30 s (logs in $ETCD_DIR)"
    sleep 0.2
  done
}

etcd_start () {
  local i=$1 peer client
  peer=$((ETCD_BASE + i - 1)); client=$((ETCD_BASE + 100 + i - 1))
  etcd --name "e$i" --data-dir "$ETCD_DIR/e$i" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new --initial-cluster-token "bench-$ETCD_BASE" \
    >>"$ETCD_DIR/e$i.log" 2>&1 </dev/null &
  ETCD_PIDS[$((i - 1))]=$!
  disown $!   # no "Killed" job notices when the failover part kills it
  ETCD_URLS[$((i - 1))]="http://127.0.0.1:$client"
  bench_track $!
}

etcd_down () {
  local p
  for p in "${ETCD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${ETCD_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  for f in "$ETCD_DIR"/e*.log; do cp "$f" "$LOGS/$(basename "$ETCD_DIR")-$(basename "$f")" 2>/dev/null || true; done
  rm -rf "$ETCD_DIR"
}

# Prints the leader's member index (1-based).
etcd_leader () {
  local i s leader member
  for i in $(seq 1 "${#ETCD_URLS[@]}"); do
    s=$(curl --noproxy '*' -fsS -m 1 -X POST "${ETCD_URLS[$((i - 1))]}/v3/maintenance/status" -d '{}' 2>/dev/null) || continue
    leader=$(jq -r '.leader // empty' <<<"$s")
    [ -n "$leader" ] && [ "$leader" != 0 ] || continue
    for i in $(seq 1 "${#ETCD_URLS[@]}"); do
      member=$(curl --noproxy '*' -fsS -m 1 -X POST "${ETCD_URLS[$((i - 1))]}/v3/maintenance/status" -d '{}' 2>/dev/null \
               | jq -r '.header.member_id // empty')
      [ "$member" = "$leader" ] && { echo "$i"; return 0; }
    done
  done
  return 1
}

etcd_wait_leader () {
  local deadline=$(( $(now_ms) + 15000 ))
  until etcd_leader; do
    [ "$(now_ms)" -lt "$deadline" ] || die "etcd has no leader (logs in $ETCD_DIR)"
    sleep 0.1
  done
}

# etcd_list URL PREFIX FILE: every key under PREFIX (linearizable range, paged).
etcd_list () {
  local url=$1 prefix=$2 file=$3 start end page n last
  local c=${prefix: -1}
  start=$(printf '%s' "$prefix" | base64 -w0)
  # range_end: the prefix with its last byte incremented (ASCII prefixes).
  end=$(printf '%s' "${prefix%?}"; printf "\\$(printf '%03o' $(( $(printf '%d' "'$c") + 1 )))")
  end=$(printf '%s' "$end" | base64 -w0)
  echo '{"kvs":[' >"$file"
  local first=1
  while :; do
    page=$(curl --noproxy '*' -fsS -m 120 -X POST "$url/v3/kv/range" \
             -d "{\"key\":\"$start\",\"range_end\":\"$end\",\"keys_only\":true,\"limit\":20000}") || return 1
    n=$(jq '.kvs // [] | length' <<<"$page")
    [ "$n" -gt 0 ] || break
    [ $first = 1 ] || echo ',' >>"$file"
    first=0
    jq -c '.kvs | map({key}) | .[]' <<<"$page" | paste -sd, >>"$file"
    [ "$(jq -r '.more // false' <<<"$page")" = true ] || break
    last=$(jq -r '.kvs[-1].key' <<<"$page" | base64 -d)
    start=$(printf '%s\0' "$last" | base64 -w0)
  done
  echo ']}' >>"$file"
}

# ---- one API over both systems ----
# cluster_up SYSTEM N: a fresh cluster; sets CL_SYSTEM, CL_N, CL_URLS,
# CL_PIDS (by node, 0-based) and CL_LEADER (1-based).

cluster_up () {
  CL_SYSTEM=$1; CL_N=$2
  if [ "$1" = dsm ]; then
    dsm_up "$2"
    CL_URLS=("${DSM_URLS[@]}"); CL_PIDS=()
    for i in $(seq 1 "$2"); do CL_PIDS+=("$(dsm_pid "$i")"); done
    CL_LEADER=$(dsm_leader)
  else
    etcd_up "$2"
    CL_URLS=("${ETCD_URLS[@]}"); CL_PIDS=("${ETCD_PIDS[@]}")
    CL_LEADER=$(etcd_leader)
  fi
}

cluster_down () { if [ "$CL_SYSTEM" = dsm ]; then dsm_down; else etcd_down; fi; }

# cluster_url leader|follower: a client URL.
cluster_url () {
  if [ "$1" = leader ]; then echo "${CL_URLS[$((CL_LEADER - 1))]}"
  else echo "${CL_URLS[$((CL_LEADER % CL_N))]}"; fi
}

# Prints the user+system CPU clock ticks used so far by all the cluster's nodes.
cluster_cpu_ticks () {
  local p t=0 f
  for p in "${CL_PIDS[@]}"; do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + $(awk '{print $12 + $13}' <<<"$f")))
  done
  echo "$t"
}

# Prints the 1-based ids of nodes whose process is gone.
cluster_dead () {
  local i
  for i in $(seq 1 "$CL_N"); do kill -0 "${CL_PIDS[$((i - 1))]}" 2>/dev/null || echo "$i"; done
}

# cluster_leader_changes: how many times the cluster's leader changed after
# its first was elected (a stalled loop shows up here first: its followers'
# election timers fire).  dsm: elections won in the nodes' logs; etcd: the
# largest etcd_server_leader_changes_seen_total of its members.
cluster_leader_changes () {
  local n=0 u m
  if [ "$CL_SYSTEM" = dsm ]; then
    n=$(cat "$DSM_DIR"/node*.log 2>/dev/null | grep -c 'event=election_won')
  else
    for u in "${ETCD_URLS[@]}"; do
      m=$(curl --noproxy '*' -fsS -m 2 "$u/metrics" 2>/dev/null \
            | awk '/^etcd_server_leader_changes_seen_total/ { print int($2) }')
      [ -n "$m" ] && [ "$m" -gt "$n" ] && n=$m
    done
  fi
  echo $(( n > 0 ? n - 1 : 0 ))
}

# dsm_loop_late_max: the longest a dsm node's timer ran late (its loop
# blocked or short of CPU, event loop_late), in ms, 0 when never.
dsm_loop_late_max () {
  cat "$DSM_DIR"/node*.log 2>/dev/null | sed -n 's/.*event=loop_late.* ran \([0-9]*\) ms late.*/\1/p' \
    | sort -n | tail -n 1 | grep . || echo 0
}

# cluster_verify ACKED TAG [NODES...]: checks every write listed in ACKED is
# on each given node (default: all); records real/.../missing; prints the worst.
cluster_verify () {
  local acked=$1 tag=$2 node list v worst=0 nodes
  shift 2
  nodes=${*:-$(seq 1 "$CL_N")}
  if [ "$CL_SYSTEM" = dsm ]; then
    local leader
    leader=$(dsm_leader)
    dsm_wait_converged "$leader" || true
  fi
  for node in $nodes; do
    list=$TMPD/list-$tag-$node.json
    if [ "$CL_SYSTEM" = dsm ]; then dsm_list "${CL_URLS[$((node - 1))]}" "$list" || : >"$list"
    else etcd_list "${CL_URLS[$((node - 1))]}" "w" "$list" || : >"$list"; fi
    v=$("$LOAD" verify --system "$CL_SYSTEM" --acked "$acked" --list "$list" 2>&1 || true)
    echo "$CL_SYSTEM $tag verify node $node: $v" >>"$LOGS/verify.log"
    v=$(jq -r '.missing // "unreadable"' <<<"$v" 2>/dev/null || echo unreadable)
    [ "$v" = unreadable ] && v=$(wc -l <"$acked")
    [ "$v" -gt "$worst" ] && worst=$v
  done
  rm -f "$TMPD"/list-"$tag"-*.json
  echo "$worst"
}

# acked_file LOAD-ARGS...: prints the file given to --acked, if any.
acked_file () {
  local a prev=""
  for a in "$@"; do [ "$prev" = --acked ] && echo "$a"; prev=$a; done
  return 0
}

# measured_load PART CONFIG RUN TARGET ACKED_SO_FAR LOAD-ARGS...: one load
# run against the running cluster (bench-load's --url is added for TARGET);
# sets LAST_JSON.  If a node dies during the run, the crash is recorded
# (PART/SYSTEM/CONFIG/crashes), its log kept under logs/crash-*, the
# acknowledged writes so far are checked on the survivors, a fresh cluster
# is started, and the run is tried again (up to 3 attempts).
measured_load () {
  local part=$1 config=$2 run=$3 target=$4 acked_so_far=$5 attempt=0 dead url keep d missing
  local stolen=0 steal args a prev
  shift 5
  while [ "$attempt" -lt 3 ]; do
    url=$(cluster_url "$target")
    # A run repeated for the host's steal writes other keys (a write creates its key's machine).
    args=(); prev=""
    for a in "$@"; do
      [ "$prev" = --prefix ] && [ "$stolen" -gt 0 ] && a=${a}s$stolen
      args+=("$a"); prev=$a
    done
    local cpu0 cpu1 s0 s1
    cpu0=$(cluster_cpu_ticks); s0=$(steal_sample)
    LAST_JSON=$(load --system "$CL_SYSTEM" --url "$url" "${args[@]}") || LAST_JSON='{}'
    cpu1=$(cluster_cpu_ticks); s1=$(steal_sample)
    steal=$(steal_pct "$s0" "$s1")
    dead=$(cluster_dead)
    if [ -z "$dead" ]; then
      # CPU time of every node of the cluster per acknowledged request (warm-up included in both).
      LAST_JSON=$(jq -c --argjson t "$((cpu1 - cpu0))" --argjson hz "$(getconf CLK_TCK)" --argjson steal "$steal" \
                    '. + {cpu_us_per_op: (if .ok > 0 then ($t / $hz * 1e6 / .ok) else null end), cluster_cpu_s: ($t / $hz),
                          steal_pct: $steal}' \
                    <<<"$LAST_JSON")
      if steal_high "$steal" && [ "$stolen" -lt "$STEAL_RETRIES" ]; then
        stolen=$((stolen + 1))
        say "  the host stole $steal% of the CPU during $CL_SYSTEM (${GENERATOR:-bench-load}) $part $config run $run (limit $STEAL_MAX%): running it again"
        record "$part" "$CL_SYSTEM" "$config" steal_discarded_pct "$run" "$steal"
        # The discarded run's acknowledged writes are checked with the rest.
        a=$(acked_file "${args[@]}")
        [ -n "$a" ] && [ -n "$acked_so_far" ] && cat "$a" >>"$acked_so_far"
        continue
      fi
      steal_high "$steal" && say "  the host stole $steal% of the CPU during $CL_SYSTEM (${GENERATOR:-bench-load}) $part $config run $run: kept, marked in the report"
      return 0
    fi
    attempt=$((attempt + 1))
    keep=$LOGS/crash-$CL_SYSTEM-$part-$config-run$run-attempt$attempt
    mkdir -p "$keep"
    for d in $dead; do
      if [ "$CL_SYSTEM" = dsm ]; then cp "$DSM_DIR/node$d.log" "$keep/" 2>/dev/null || true
      else cp "$ETCD_DIR/e$d.log" "$keep/" 2>/dev/null || true; fi
    done
    say "  CRASH: $CL_SYSTEM node(s) $dead died during $part $config run $run (log kept in $keep): $(tail -n 2 "$keep"/* 2>/dev/null | tail -n 1)"
    record "$part" "$CL_SYSTEM" "$config" crashes "$run" 1
    echo "$LAST_JSON" >"$keep/load.json"
    if [ -n "$acked_so_far" ] && [ -s "$acked_so_far" ]; then
      a=$(acked_file "$@")
      [ -n "$a" ] && cat "$a" >>"$acked_so_far"
      local survivors
      survivors=$(for i in $(seq 1 "$CL_N"); do grep -qx "$i" <<<"$dead" || echo "$i"; done)
      missing=$(cluster_verify "$acked_so_far" "crash-$config-$run" $survivors)
      say "  after the crash: acknowledged writes missing on the worst survivor: $missing"
      record "$part" "$CL_SYSTEM" "$config" missing_after_crash "$run" "$missing"
      : >"$acked_so_far"
    fi
    cluster_down
    cluster_up "$CL_SYSTEM" "$CL_N"
  done
  say "  giving up on $part $config run $run after 3 crashes"
  return 1
}

# ---- the generator ----
# load ARGS...: runs the generator with a hard timeout; prints its JSON.
# The generator is bench-load (HTTP/JSON, both systems) unless GENERATOR is
# etcd-native (etcd's gRPC client) or bench-native (dsm's native protocol,
# libdsm-client); all take the same arguments and print the same figures.
# bench-native gets the node's native address for its HTTP --url, then the
# other nodes' (docs/CLIENT.md: the library finds the leader itself).
load () {
  local gen=$LOAD args=() prev="" a
  [ "${GENERATOR:-bench-load}" = etcd-native ] && gen=$ETCD_NATIVE
  if [ "${GENERATOR:-bench-load}" = bench-native ]; then
    gen=$DSM_NATIVE_LOAD
    for a in "$@"; do
      if [ "$prev" = --url ]; then
        a=$(jq -r --arg c "${a#*://}" '.nodes[] | select(.client_address == ($c | rtrimstr("/"))) | .native_address' \
              "$DSM_DIR/cluster.json")
      fi
      args+=("$a"); prev=$a
    done
    for a in $(jq -r '.nodes[].native_address' "$DSM_DIR/cluster.json"); do args+=(--url "$a"); done
    set -- "${args[@]}"
  fi
  timeout 300 "$gen" run "$@" 2>>"$LOGS/bench-load.err" || {
    say "$(basename "$gen") run $* failed (see $LOGS/bench-load.err)"; return 1; }
}
