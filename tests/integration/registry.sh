# Test OCI registry helpers. Source after lib.sh:  . "$(dirname "$0")/registry.sh"
#
#   registry_start [--tls] [--htpasswd] [--token]
#       Starts Debian's docker-registry (CNCF distribution) on a free 127.0.0.1 port with its
#       storage in $T. Sets REG_HOST (127.0.0.1:port), REG_URL (http(s)://REG_HOST),
#       REG_USER/REG_PASS (with --htpasswd or --token), REG_CA (PEM of the test CA, with --tls),
#       REG_DIR, REG_PID, REG_ALIAS_HOST (see below). --token puts a token server (Python stdlib + openssl for RS256) in
#       front: REG_TOKEN_HOST. PIDs go into PIDS (lib.sh stops them).
#   registry_ca_make DIR NAME   a throw-away CA in DIR/NAME.{crt,key} (e.g. a wrong CA)
#   fault_proxy_start UPSTREAM_HOST RULE...
#       A plain-HTTP proxy in front of UPSTREAM_HOST that answers HTTP STATUS (default 500) to the
#       first COUNT requests matching each rule "METHOD:SUBSTRING:COUNT[:STATUS]"
#       (e.g. "PUT:/blobs/uploads/:2", "PUT:/blobs/uploads/:1:405"); a 429 carries Retry-After: 1.
#       Sets PROXY_HOST and PROXY_LOG (one line per request: "METHOD PATH STATUS").

REG_SEQ=${REG_SEQ:-0}

# Helm 3's resolver (containerd) always uses plain HTTP for loopback IPs and "localhost", so a
# TLS registry must be reached by another name: the machine's host name when it resolves to
# 127.0.0.1 (REG_ALIAS, also in the server certificate; REG_ALIAS_HOST = alias:port). Empty
# when there is no such name.
REG_ALIAS=""
if h=$(hostname 2>/dev/null) && [ -n "$h" ] && [ "$h" != localhost ] &&
	[ "$(getent ahostsv4 "$h" 2>/dev/null | awk 'NR==1{print $1}')" = 127.0.0.1 ]; then
	REG_ALIAS=$h
fi

registry_ca_make() { # DIR NAME
	local d=$1 n=$2
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dhg test CA $n" \
		-keyout "$d/$n.key" -out "$d/$n.crt" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		>/dev/null 2>&1
}

registry__server_cert() { # DIR  (CA in DIR/ca.{crt,key}) -> DIR/server.{crt,key}
	local d=$1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" \
		-out "$d/server.csr" >/dev/null 2>&1
	local san="IP:127.0.0.1,DNS:localhost"
	[ -n "${REG_ALIAS:-}" ] && san="$san,DNS:$REG_ALIAS"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" \
		>"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/server.ext" -out "$d/server.crt" >/dev/null 2>&1
}

registry__token_server() { # DIR PORT ISSUER SERVICE USER PASS
	cat >"$1/token_server.py" <<'PYEOF'
import base64, http.server, json, subprocess, sys, time, urllib.parse, os
d, port, issuer, service, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
der = subprocess.run(["openssl", "x509", "-in", d + "/token.crt", "-outform", "DER"], check=True,
                     capture_output=True).stdout
x5c = base64.b64encode(der).decode()
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def sign(data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", d + "/token.key"], input=data, check=True,
                          capture_output=True).stdout
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        # OAuth2 password grant (containerd / helm 3): form fields instead of Basic auth
        n = int(self.headers.get("Content-Length", "0") or 0)
        f = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if f.get("grant_type", [""])[0] != "password":
            self.send_response(400); self.send_header("Content-Length", "0"); self.end_headers(); return
        u2, p2 = f.get("username", [""])[0], f.get("password", [""])[0]
        if u2 != user or p2 != pw:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        self.issue(u2, f.get("scope", []) and " ".join(f["scope"]).split(" "), f.get("service", [service])[0])
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        authz = self.headers.get("Authorization", "")
        ok_user = None
        if authz.startswith("Basic "):
            try:
                u2, p2 = base64.b64decode(authz[6:]).decode().split(":", 1)
            except Exception:
                u2, p2 = "", ""
            if u2 == user and p2 == pw:
                ok_user = u2
            else:
                self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        self.issue(ok_user, q.get("scope", []), q.get("service", [service])[0])
    def issue(self, ok_user, scopes, aud):
        access = []
        if ok_user:
            for s in scopes:
                parts = s.split(":")
                if len(parts) >= 3 and parts[0] == "repository":
                    access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                                   "actions": [a for a in parts[-1].split(",") if a in ("pull", "push")]})
        now = int(time.time())
        claims = {"iss": issuer, "sub": ok_user or "", "aud": aud, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        hdr = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
        si = (b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
        tok = si.decode() + "." + b64u(sign(si))
        body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
	$PY "$1/token_server.py" "$@" >"$1/token.log" 2>&1 &
	PIDS+=($!)
}

registry_start() {
	local tls=0 htpasswd=0 token=0 port scheme=http d
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) tls=1 ;;
		--htpasswd) htpasswd=1 ;;
		--token) token=1 ;;
		*) echo "registry_start: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	REG_SEQ=$((REG_SEQ + 1))
	d=$T/registry-$REG_SEQ
	mkdir -p "$d/data"
	port=$(free_port)
	REG_HOST=127.0.0.1:$port
	REG_ALIAS_HOST=${REG_ALIAS:+$REG_ALIAS:$port}
	REG_DIR=$d
	REG_USER="" REG_PASS="" REG_CA="" REG_TOKEN_HOST=""
	{
		echo "version: 0.1"
		echo "log: {level: warn, accesslog: {disabled: true}}"
		echo "storage: {filesystem: {rootdirectory: $d/data}, delete: {enabled: true}}"
		echo "http:"
		echo "  addr: $REG_HOST"
		echo "  secret: dhg-test-secret-$REG_SEQ"
	} >"$d/config.yml"
	if [ $tls = 1 ]; then
		registry_ca_make "$d" ca
		registry__server_cert "$d"
		REG_CA=$d/ca.crt
		scheme=https
		echo "  tls: {certificate: $d/server.crt, key: $d/server.key}" >>"$d/config.yml"
	fi
	if [ $htpasswd = 1 ] || [ $token = 1 ]; then
		REG_USER=dhg-user
		REG_PASS="s3cret-$RANDOM-pa:ss"
	fi
	if [ $htpasswd = 1 ]; then
		htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$d/htpasswd"
		echo "auth: {htpasswd: {realm: dhg-test, path: $d/htpasswd}}" >>"$d/config.yml"
	elif [ $token = 1 ]; then
		local tport
		tport=$(free_port)
		REG_TOKEN_HOST=127.0.0.1:$tport
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dhg token signer" \
			-keyout "$d/token.key" -out "$d/token.crt" >/dev/null 2>&1
		registry__token_server "$d" "$tport" dhg-test-issuer dhg-registry "$REG_USER" "$REG_PASS"
		echo "auth: {token: {realm: 'http://$REG_TOKEN_HOST/token', service: dhg-registry, issuer: dhg-test-issuer, rootcertbundle: $d/token.crt}}" >>"$d/config.yml"
		wait_for curl -fsS -o /dev/null "http://$REG_TOKEN_HOST/token" || { echo "token server did not start" >&2; cat "$d/token.log" >&2; return 1; }
	fi
	REG_URL=$scheme://$REG_HOST
	docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 &
	REG_PID=$!
	PIDS+=($REG_PID)
	if ! wait_for bash -c "curl -sS -o /dev/null -w '%{http_code}' ${REG_CA:+--cacert $REG_CA} $REG_URL/v2/ | grep -E '^(200|401)$'"; then
		echo "registry did not start:" >&2
		cat "$d/registry.log" >&2
		return 1
	fi
}

fault_proxy_start() { # UPSTREAM_HOST RULE...
	local up=$1 port
	shift
	port=$(free_port)
	PROXY_HOST=127.0.0.1:$port
	PROXY_LOG=$T/proxy-$port.log
	cat >"$T/fault_proxy.py" <<'PYEOF'
import http.client, http.server, sys, threading
port, upstream, rules = int(sys.argv[1]), sys.argv[2], []
for r in sys.argv[4:]:
    f = r.split(":")
    rules.append([f[0], f[1], int(f[2]), int(f[3]) if len(f) > 3 else 500])
log = open(sys.argv[3], "a", buffering=1)
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        with lock:
            for r in rules:
                if r[0] == self.command and r[1] in self.path and r[2] > 0:
                    r[2] -= 1
                    log.write("%s %s %d injected\n" % (self.command, self.path.split("?")[0], r[3]))
                    msg = b'{"errors":[{"code":"UNSUPPORTED","message":"injected failure"}]}'
                    self.send_response(r[3])
                    if r[3] == 429:
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(msg)
                    return
        c = http.client.HTTPConnection(upstream, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
        c.request(self.command, self.path, body=body if (n or self.command in ("PUT", "POST", "PATCH")) else None, headers=hdrs)
        resp = c.getresponse()
        data = resp.read()
        log.write("%s %s %d\n" % (self.command, self.path.split("?")[0], resp.status))
        self.send_response_only(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else resp.getheader("Content-Length", "0")))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
	$PY "$T/fault_proxy.py" "$port" "$up" "$PROXY_LOG" "$@" >"$T/fault_proxy-$port.err" 2>&1 &
	PIDS+=($!)
	wait_for curl -sS -o /dev/null "http://$PROXY_HOST/v2/" || { cat "$T/fault_proxy-$port.err" >&2; return 1; }
}

# A tiny chart directory: registry_chart DIR NAME VERSION [EXTRA_LINE]
registry_chart() {
	local d=$1 n=$2 v=$3
	mkdir -p "$d/templates"
	cat >"$d/Chart.yaml" <<EOF
apiVersion: v2
name: $n
description: A test chart for dhg push
type: application
version: $v
appVersion: "1.4.2"
EOF
	printf 'replicaCount: 1\nimage: nginx\n%s\n' "${4:-}" >"$d/values.yaml"
	cat >"$d/templates/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  image: {{ .Values.image | quote }}
EOF
	printf '.git/\n*.bak\n' >"$d/.helmignore"
}
