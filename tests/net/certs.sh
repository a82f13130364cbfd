#!/bin/sh
# tests/net/certs.sh: tools/dsm-certs makes a CA and certificates that
# openssl verifies, bound as docs/SECURITY.md says, keys private; and it
# refuses a cluster id that cannot be a DNS label.  TAP output.
set -eu
CERTS=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
fail () { n=$((n + 1)); echo "not ok $n - $1"; exit 1; }

echo "1..6"
"$CERTS" cluster --dir "$dir" --cluster test -n 2 >/dev/null || fail "cluster -n 2 runs"
ok "cluster -n 2 runs"
openssl verify -CAfile "$dir/ca.crt" "$dir/peer-1.crt" "$dir/peer-2.crt" "$dir/http-1.crt" \
  "$dir/client-admin.crt" >/dev/null || fail "every certificate verifies against the CA"
ok "every certificate verifies against the CA"
openssl x509 -in "$dir/peer-2.crt" -noout -ext subjectAltName | grep -q "DNS:node-2.test$" \
  || fail "peer-2 is bound to node-2.test"
openssl x509 -in "$dir/peer-2.crt" -noout -ext extendedKeyUsage | grep -q "Server Authentication, TLS Web Client" \
  || fail "peer certificates serve both ends of a connection"
ok "peer-2 is bound to node-2.test for both ends"
for k in "$dir"/*.key; do
  [ "$(stat -c %a "$k")" = 600 ] || fail "$k is mode 600"
done
ok "keys are mode 600"
before=$(md5sum "$dir/ca.crt")
"$CERTS" client --dir "$dir" ops >/dev/null || fail "client ops"
[ "$(md5sum "$dir/ca.crt")" = "$before" ] || fail "an existing CA is kept"
ok "an existing CA is kept when more certificates are made"
if "$CERTS" peer --dir "$dir" --cluster "a b" 1 2>/dev/null; then fail "a non-DNS cluster id is refused"; fi
ok "a non-DNS cluster id is refused"
