#!/bin/sh
# tests/core/purity.sh: proves from the object code that core/ stays pure
# (DESIGN.md section 1): it calls no clock, no socket, no file, no thread,
# no main loop, no random source of its own, and keeps no writable global
# state besides GLib's quark caches (G_DEFINE_QUARK's `static GQuark q`,
# named q.N by gcc and FUNC_quark.q by clang)
# and what a compiler instruments in (sanitizers' `__`-prefixed symbols).
# Usage: purity.sh LIBDSM-CORE.A
set -u
lib="$1"
status=0

forbidden='^(g_get_monotonic_time|g_get_real_time|g_get_current_time|time|clock_gettime|gettimeofday|clock|'\
'g_random_.*|g_rand_new|g_rand_new_with_seed.*|rand|srand|random|srandom|rand_r|getrandom|arc4random.*|'\
'g_main_.*|g_timeout_.*|g_idle_.*|g_source_.*|g_thread_.*|pthread_.*|g_usleep|sleep|usleep|nanosleep|'\
'open|open64|openat|fopen|fopen64|creat|read|write|pread|pread64|pwrite|pwrite64|fsync|fdatasync|'\
'g_file_.*|g_open|g_fopen|g_mkdir.*|g_unlink|g_rename|'\
'socket|connect|bind|listen|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg|g_socket.*|g_network.*|'\
'getenv|g_getenv|g_get_environ|system|popen|fork|execv.*|g_spawn.*)$'

calls=$(nm -u "$lib" | awk '{print $2}' | sort -u | grep -E "$forbidden")
if [ -n "$calls" ]; then
  echo "core calls what it must not:" $calls
  status=1
fi

globals=$(objdump -t "$lib" | awk '$0 ~ /[ \t]O[ \t]+\.(data|bss)[ \t]/ && $NF !~ /^q\.[0-9]+$/ && $NF !~ /^[a-z0-9_]+_quark\.q$/ && $NF !~ /^__/ {print $NF}')
if [ -n "$globals" ]; then
  echo "core has writable global state:" $globals
  status=1
fi

[ "$status" -eq 0 ] && echo "core is pure: $(nm -u "$lib" | awk '{print $2}' | sort -u | grep -c .) external symbols checked"
exit "$status"
