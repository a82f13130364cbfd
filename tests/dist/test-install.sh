#!/bin/sh
# tests/dist/test-install.sh BUILD_DIR: `meson install` into a scratch
# DESTDIR puts the programs, the systemd unit (naming the installed
# dsm-node), its sysusers file, the docs and the scenarios where
# docs/OPERATIONS.md ("Running as a service") says; systemd-analyze, where
# there is one, finds nothing wrong with the unit.
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
