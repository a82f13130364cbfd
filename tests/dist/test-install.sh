#!/bin/sh
# tests/dist/test-install.sh BUILD_DIR SOURCE_DIR: `meson install` into a scratch
# DESTDIR puts the programs, the systemd unit (naming the installed
# dsm-node), its sysusers file, the docs and the scenarios where
# docs/OPERATIONS.md ("Running as a service") says, and libdsm-client's
# library, header and pkg-config file usable from outside the tree;
# systemd-analyze, where there is one, finds nothing wrong with the unit.
set -eu
build=$1
source=$2
dest=$(mktemp -d "${TMPDIR:-/tmp}/dsm-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

fail () { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null 2>"$dest.log" \
  || { cat "$dest.log" >&2; rm -f "$dest.log"; fail "meson install"; }
rm -f "$dest.log"
prefix=$(meson introspect "$build" --buildoptions | jq -r '.[] | select(.name == "prefix") | .value')
root="$dest$prefix"

for bin in dsm-node dsmctl dsm-sim dsm-check dsm-real dsm-cluster dsm-certs; do
  [ -x "$root/bin/$bin" ] || fail "bin/$bin is not installed"
done
unit="$root/lib/systemd/system/dsm-node@.service"
[ -f "$unit" ] || fail "the unit is not installed"
grep -q "^ExecStart=$prefix/bin/dsm-node --config /etc/dsm/cluster.json --id %i " "$unit" \
  || fail "the unit does not start the installed dsm-node: $(grep ExecStart "$unit")"
grep -q '^User=dsm$' "$unit" || fail "the unit does not run as dsm"
[ -f "$root/lib/sysusers.d/dsm.conf" ] || fail "sysusers.d/dsm.conf is not installed"
[ -f "$root/share/doc/dsm/OPERATIONS.md" ] || fail "the docs are not installed"
[ -f "$root/share/doc/dsm/README.md" ] || fail "README.md is not installed"
ls "$root/share/dsm/scenarios/"*.json >/dev/null 2>&1 || fail "the scenarios are not installed"

# libdsm-client: a program built out of tree from the installed header and
# dsm-client.pc alone, run against the installed library (docs/CLIENT.md).
# The .pc names the final prefix: a copy points it into the DESTDIR.
pc=$(find "$dest" -name dsm-client.pc | head -n 1)
[ -n "$pc" ] || fail "dsm-client.pc is not installed"
[ -f "$root/include/dsm-client.h" ] || fail "dsm-client.h is not installed"
mkdir "$dest/app"
cat > "$dest/app/app.c" <<'APP'
#include <dsm-client.h>
int
main (void)
{
  const char *nodes[] = { "127.0.0.1:1", NULL };
  DsmClientOptions options;
  GError *error = NULL;
  dsm_client_options_init (&options);
  options.nodes = nodes;
  options.attempts = 2;
  options.retry_delay_ms = 1;
  DsmClient *client = dsm_client_new (&options, NULL);
  DsmClientResult *result = dsm_client_transition_sync (client, "m", "Running", NULL, NULL, &error);
  /* Nothing listens there: the tries run out with an error. */
  int ok = result == NULL && g_error_matches (error, DSM_CLIENT_ERROR, DSM_CLIENT_ERROR_FAILED);
  g_clear_error (&error);
  dsm_client_free (client);
  return ok ? 0 : 1;
}
APP
mkdir "$dest/pc"
sed "s#^prefix=.*#prefix=$root#" "$pc" > "$dest/pc/dsm-client.pc"
flags=$(PKG_CONFIG_PATH=$dest/pc pkg-config --cflags --libs dsm-client) \
  || fail "pkg-config dsm-client"
# A sanitized build installs a sanitized library: its users link the
# sanitizer runtime too, as any program using such a build must.
sanitize=$(meson introspect --buildoptions "$build" 2>/dev/null \
             | jq -r '.[] | select(.name == "b_sanitize") | .value' 2>/dev/null || true)
case $sanitize in
  ''|none) ;;
  *) flags="-fsanitize=$sanitize $flags" ;;
esac
${CC:-cc} -o "$dest/app/app" "$dest/app/app.c" $flags || fail "building against the installed dsm-client"
libdir=$(dirname "$(dirname "$pc")")
LD_LIBRARY_PATH=$libdir "$dest/app/app" || fail "the program built against dsm-client failed"
echo "libdsm-client: built and run out of tree"

# The machine plugin API: examples/job-queue built out of tree from the
# installed dsm-machine.h and dsm-machine.pc alone (docs/PLUGINS.md,
# "Building a plugin"); the in-tree examples are installed as plugins.
mpc=$(find "$dest" -name dsm-machine.pc | head -n 1)
[ -n "$mpc" ] || fail "dsm-machine.pc is not installed"
[ -f "$root/include/dsm-machine.h" ] || fail "dsm-machine.h is not installed"
sed "s#^prefix=.*#prefix=$root#" "$mpc" > "$dest/pc/dsm-machine.pc"
plugindir=$(PKG_CONFIG_PATH=$dest/pc pkg-config --variable=plugindir dsm-machine) \
  || fail "pkg-config dsm-machine"
[ -f "$plugindir/libbank-ledger.so" ] || fail "the bank-ledger example is not installed in $plugindir"
[ -f "$plugindir/libjob-queue.so" ] || fail "the job-queue example is not installed in $plugindir"
[ ! -e "$plugindir/libbank-ledger-planted-bug.so" ] || fail "the planted bug is installed"
cp -r "$source/examples/job-queue" "$dest/job-queue"
case $sanitize in
  ''|none) sanitize_option= ;;
  *) sanitize_option="-Db_sanitize=$sanitize -Db_lundef=false" ;;
esac
PKG_CONFIG_PATH=$dest/pc meson setup $sanitize_option "$dest/job-queue/build" "$dest/job-queue" \
  >"$dest/jq.log" 2>&1 || { cat "$dest/jq.log" >&2; fail "meson setup of examples/job-queue out of tree"; }
ninja -C "$dest/job-queue/build" >"$dest/jq.log" 2>&1 \
  || { cat "$dest/jq.log" >&2; fail "building examples/job-queue out of tree"; }
module="$dest/job-queue/build/libjob-queue.so"
[ -f "$module" ] || fail "examples/job-queue built no libjob-queue.so"
# The module is a machine dsm loads: dsm-check says which (name, version).
out=$("$build/tools/dsm-check" --plugin "$module" --describe 2>&1) \
  || fail "dsm-check does not load the out-of-tree job-queue: $out"
[ "$out" = "job-queue 1.0.0 (machine ABI 1)" ] || fail "dsm-check --describe said: $out"
echo "examples/job-queue: built out of tree and loaded"

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify wants the ExecStart binary where the unit says: point a copy at
  # the installed one.
  mkdir "$dest/unit"
  sed "s#^ExecStart=$prefix/bin/#ExecStart=$root/bin/#" "$unit" > "$dest/unit/dsm-node@.service"
  out=$(cd "$dest/unit" && systemd-analyze verify ./dsm-node@1.service 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  echo "systemd-analyze verify: clean"
else
  echo "systemd-analyze is not installed: the unit's syntax is not verified"
fi
echo "installed into $dest$prefix: ok"
