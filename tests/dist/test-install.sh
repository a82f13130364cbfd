#!/bin/sh
# tests/dist/test-install.sh BUILD_DIR: `meson install` into a scratch
# DESTDIR puts the programs, the systemd unit (naming the installed
# dsm-node), its sysusers file, the docs and the scenarios where
# docs/OPERATIONS.md ("Running as a service") says, and libdsm-client's
# library, header and pkg-config file usable from outside the tree;
# systemd-analyze, where there is one, finds nothing wrong with the unit.
set -eu
build=$1
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
