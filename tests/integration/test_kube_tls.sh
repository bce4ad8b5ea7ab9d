#!/usr/bin/env bash
# The kube client over TLS against the API emulator, with a test CA made by openssl:
# certificate-authority-data and a relative certificate-authority file verify; a wrong CA
# and a wrong tls-server-name fail clearly; tls-server-name lets a cert without the IP verify;
# insecure-skip-tls-verify works when asked for. TLS verification is on by default.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/kubetool.sh"
command -v openssl >/dev/null || skip "openssl not installed"

mkca() { # dir
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dhg test CA $(basename "$1")" \
		-keyout "$1/ca.key" -out "$1/ca.crt" >/dev/null 2>&1
}
mkcert() { # dir san
	openssl req -newkey rsa:2048 -nodes -subj "/CN=emulator" -keyout "$1/srv.key" -out "$1/srv.csr" >/dev/null 2>&1
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" >"$1/ext"
	openssl x509 -req -in "$1/srv.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial -days 2 \
		-extfile "$1/ext" -out "$1/srv.crt" >/dev/null 2>&1
}
mkdir -p "$T/good" "$T/other" "$T/named"
mkca "$T/good"; mkcert "$T/good" "IP:127.0.0.1"
mkca "$T/other"
mkca "$T/named"; mkcert "$T/named" "DNS:kube.test"

kc() { # file server cluster-extra-yaml
	cat >"$1" <<KC
apiVersion: v1
kind: Config
current-context: e
clusters:
- name: e
  cluster:
    server: "$2"
$3
contexts: [{name: e, context: {cluster: e, user: u}}]
users: [{name: u, user: {}}]
KC
}

# ---- server cert for 127.0.0.1 ----------------------------------------------------------
emu_start --tls-cert "$T/good/srv.crt" --tls-key "$T/good/srv.key" --tls-ca "$T/good/ca.crt"
grep -q certificate-authority-data "$EMU_KUBECONFIG" || fail "emulator kubeconfig lacks CA data"
$TOOL --kubeconfig "$EMU_KUBECONFIG" get v1/namespaces - default >"$T/out" 2>"$T/err" || fail "TLS with CA data: $(cat "$T/err")"
grep -q '"name":"default"' "$T/out" || fail "unexpected: $(cat "$T/out")"
ok "TLS verified with certificate-authority-data"

mkdir -p "$T/kc"; cp "$T/good/ca.crt" "$T/kc/ca.pem"
kc "$T/kc/rel" "$EMU_URL" "    certificate-authority: ca.pem"
( cd / && $TOOL --kubeconfig "$T/kc/rel" get v1/namespaces - default >"$T/out" 2>"$T/err" ) || fail "relative CA file: $(cat "$T/err")"
ok "certificate-authority relative to the kubeconfig's directory"

kc "$T/kc/wrong" "$EMU_URL" "    certificate-authority: $T/other/ca.crt"
if $TOOL --kubeconfig "$T/kc/wrong" get v1/namespaces - default >"$T/out" 2>"$T/err"; then fail "wrong CA accepted"; fi
grep -q 'error: Error.*TLS verification failed' "$T/err" || fail "wrong CA error unclear: $(cat "$T/err")"
grep -q 'retries=0' "$T/err" || fail "a TLS verification failure must not be retried: $(cat "$T/err")"
ok "wrong CA refused: $(head -n 1 "$T/err")"

kc "$T/kc/none" "$EMU_URL" ""
if $TOOL --kubeconfig "$T/kc/none" get v1/namespaces - default >"$T/out" 2>"$T/err"; then fail "unverified TLS accepted by default"; fi
ok "no CA configured: verification still on (refused)"

kc "$T/kc/insecure" "$EMU_URL" "    insecure-skip-tls-verify: true"
$TOOL --kubeconfig "$T/kc/insecure" get v1/namespaces - default >/dev/null 2>"$T/err" || fail "insecure-skip-tls-verify: $(cat "$T/err")"
ok "insecure-skip-tls-verify honored"
emu_stop

# ---- server cert only for DNS kube.test: tls-server-name ----------------------------------
emu_start --tls-cert "$T/named/srv.crt" --tls-key "$T/named/srv.key" --tls-ca "$T/named/ca.crt"
kc "$T/kc/noname" "$EMU_URL" "    certificate-authority: $T/named/ca.crt"
if $TOOL --kubeconfig "$T/kc/noname" get v1/namespaces - default >"$T/out" 2>"$T/err"; then
	fail "a cert without 127.0.0.1 must not verify for 127.0.0.1"
fi
kc "$T/kc/sni" "$EMU_URL" "    certificate-authority: $T/named/ca.crt
    tls-server-name: kube.test"
$TOOL --kubeconfig "$T/kc/sni" get v1/namespaces - default >"$T/out" 2>"$T/err" || fail "tls-server-name: $(cat "$T/err")"
kc "$T/kc/sni-bad" "$EMU_URL" "    certificate-authority: $T/named/ca.crt
    tls-server-name: other.test"
if $TOOL --kubeconfig "$T/kc/sni-bad" get v1/namespaces - default >"$T/out" 2>"$T/err"; then fail "wrong tls-server-name accepted"; fi
ok "tls-server-name verifies the cert by name while connecting to 127.0.0.1"
