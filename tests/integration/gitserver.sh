# Real git servers for integration tests. Source it after lib.sh:
#   . "$(dirname "$0")/gitserver.sh"
#   gitsrv_http_start [--tls] -> GIT_HTTP_URL (http://127.0.0.1:PORT, no credentials), GIT_HTTP_USER,
#                          GIT_HTTP_PASSWORD, GIT_HTTP_AUTH_URL (with user:password@, for plain git),
#                          GIT_HTTP_ACCESS_LOG (nginx access log)
#   gitsrv_ssh_start    -> GIT_SSH_URL (ssh://USER@127.0.0.1:PORT + repo root), GIT_SSH_KEY (private
#                          key file, OpenSSH ed25519), GIT_SSH_KNOWN_HOSTS (known_hosts file),
#                          GIT_SSH_COMMAND exported for plain git
#   gitsrv_http_idle    -> waits until no git request is running on the HTTP server
#   gitsrv_repo_create NAME [--empty]  -> bare repo $GITSRV_ROOT/NAME.git served by both; unless
#                          --empty it gets one commit on main (README.md) and HEAD -> main.
#   URLs of a repo: "$GIT_HTTP_URL/NAME.git", "$GIT_SSH_URL/NAME.git".
#   gitsrv_tools        -> W / S: commands running the git writer / source test tools
#                          (tests/tools/gitout_{write,source}, under $DHG_WRAP); fails when not built
#   gitsrv_http_repo NAME -> repo NAME created; REPO (bare repo path), URL (its HTTP URL), $T/pw
#                          (password file), AUTH (basic-auth flags of tests/tools/gitout_*)
#   gitsrv_manifests_clone DIR -> repo "manifests" (made by gitsrv_repo_create) cloned over HTTP
#                          into DIR, with apps/shop/web.yaml (shop_manifests) and
#                          apps/other/cm.yaml added, not committed
# Servers bind 127.0.0.1 on free ports; their PIDs go to PIDS (stopped by lib.sh's cleanup).

GITSRV_ROOT=$T/gitsrv/repos
mkdir -p "$GITSRV_ROOT"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.invalid \
	GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.invalid
# Plain git in tests reads its own global config, never the user's (HOME is left alone).
export GIT_CONFIG_GLOBAL=$T/gitsrv/gitconfig
: >"$GIT_CONFIG_GLOBAL"
git config --global init.defaultBranch main
git config --global protocol.version 2
git config --global advice.detachedHead false

gitsrv_repo_create() {
	local name=$1 empty=${2:-}
	local dir=$GITSRV_ROOT/$name.git
	git init -q --bare -b main "$dir"
	git -C "$dir" config http.receivepack true
	git -C "$dir" config receive.denyNonFastForwards true
	if [ "$empty" != --empty ]; then
		local w=$T/gitsrv/seed-$name
		git init -q -b main "$w"
		echo "# $name" >"$w/README.md"
		git -C "$w" add README.md
		git -C "$w" commit -q -m "initial commit"
		git -C "$w" push -q "$dir" main
		rm -rf "$w"
	fi
}

gitsrv_tools() {
	[ -x "$BUILD/gitout_write" ] && [ -x "$BUILD/gitout_source" ] ||
		fail "missing $BUILD/gitout_write / $BUILD/gitout_source (make tools)"
	W="${DHG_WRAP:-} $BUILD/gitout_write"
	S="${DHG_WRAP:-} $BUILD/gitout_source"
}

# gitsrv_http_repo NAME: a repository for the git writer on the started HTTP server.
gitsrv_http_repo() {
	gitsrv_repo_create "$1"
	REPO=$GITSRV_ROOT/$1.git
	URL=$GIT_HTTP_URL/$1.git
	printf '%s\n' "$GIT_HTTP_PASSWORD" >"$T/pw"
	AUTH=(--username "$GIT_HTTP_USER" --password-file "$T/pw")
}

# gitsrv_manifests_clone DIR: a work tree of the "manifests" repository with the sample apps.
gitsrv_manifests_clone() {
	git clone -q "$GIT_HTTP_AUTH_URL/manifests.git" "$1"
	mkdir -p "$1/apps/shop" "$1/apps/other"
	shop_manifests "$1/apps/shop/web.yaml"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: other}\ndata: {a: b}\n' \
		>"$1/apps/other/cm.yaml"
}

# gitsrv_http_start [--tls]: with --tls the same server also listens with TLS on a second port,
# with a certificate for 127.0.0.1 from a test CA made by openssl -> GIT_HTTPS_URL, GIT_HTTPS_CA
# (CA certificate file), GIT_HTTPS_OTHER_CA (an unrelated CA, for negative tests).
gitsrv_http_start() {
	local d=$T/gitsrv/http port tls_port="" tls_block=""
	mkdir -p "$d/tmp"
	port=$(free_port)
	if [ "${1:-}" = --tls ]; then
		tls_port=$(free_port)
		gitsrv__make_ca "$d"
		tls_block="listen 127.0.0.1:$tls_port ssl; ssl_certificate $d/server.crt; ssl_certificate_key $d/server.key;"
	fi
	GIT_HTTP_USER=gituser
	GIT_HTTP_PASSWORD=s3cret-$RANDOM$RANDOM
	htpasswd -bcB "$d/htpasswd" "$GIT_HTTP_USER" "$GIT_HTTP_PASSWORD" >/dev/null 2>&1 \
		|| fail "htpasswd failed"
	# One fcgiwrap process (no preforked workers, which can outlive a killed parent): requests
	# are served one at a time, each by a git http-backend child that fcgiwrap reaps.
	fcgiwrap -c 1 -s "unix:$d/fcgiwrap.sock" >"$d/fcgiwrap.log" 2>&1 &
	GITSRV_FCGI_PID=$!
	PIDS+=($!)
	local user_line=""
	[ "$(id -u)" = 0 ] && user_line="user root;"
	cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
http {
	access_log $d/access.log;
	client_body_temp_path $d/tmp/body;
	fastcgi_temp_path $d/tmp/fastcgi;
	proxy_temp_path $d/tmp/proxy;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	client_max_body_size 0;
	server {
		listen 127.0.0.1:$port;
		$tls_block
		location / {
			auth_basic "git";
			auth_basic_user_file $d/htpasswd;
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$d/fcgiwrap.sock;
			fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
			fastcgi_param GIT_PROJECT_ROOT $GITSRV_ROOT;
			fastcgi_param GIT_HTTP_EXPORT_ALL "";
			fastcgi_param PATH_INFO \$uri;
			fastcgi_param REMOTE_USER \$remote_user;
			fastcgi_param GIT_CONFIG_NOSYSTEM 1;
			fastcgi_param GIT_CONFIG_GLOBAL $GIT_CONFIG_GLOBAL;
		}
	}
}
EOF
	wait_for test -S "$d/fcgiwrap.sock" || fail "fcgiwrap did not start: $(cat "$d/fcgiwrap.log")"
	nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" &
	PIDS+=($!)
	wait_for $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
		|| fail "nginx did not start: $(cat "$d/error.log")"
	GIT_HTTP_URL=http://127.0.0.1:$port
	GIT_HTTP_AUTH_URL=http://$GIT_HTTP_USER:$GIT_HTTP_PASSWORD@127.0.0.1:$port
	GIT_HTTP_ACCESS_LOG=$d/access.log
	if [ -n "$tls_port" ]; then
		GIT_HTTPS_URL=https://127.0.0.1:$tls_port
		GIT_HTTPS_CA=$d/ca.crt
		GIT_HTTPS_OTHER_CA=$d/other-ca.crt
	fi
}

gitsrv__make_ca() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dhg test CA" -keyout "$d/ca.key" \
		-out "$d/ca.crt" >/dev/null 2>&1 || fail "openssl: CA"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout "$d/other-ca.key" \
		-out "$d/other-ca.crt" >/dev/null 2>&1 || fail "openssl: other CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" \
		>/dev/null 2>&1 || fail "openssl: server key"
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/server.ext" -out "$d/server.crt" >/dev/null 2>&1 || fail "openssl: server cert"
}

# Waits until the HTTP server runs no git request any more (a killed client leaves the server
# side finishing its receive-pack; inspect the repository only after that).
gitsrv_http_idle() {
	local i w
	for i in $(seq 1 200); do
		[ -z "$(ps -o pid= --ppid "$GITSRV_FCGI_PID" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	return 1
}

gitsrv_ssh_start() {
	local d=$T/gitsrv/ssh port user
	mkdir -p "$d"
	port=$(free_port)
	user=$(id -un)
	ssh-keygen -q -t ed25519 -N '' -C dhg-test-host -f "$d/hostkey" || fail "ssh-keygen host"
	ssh-keygen -q -t ed25519 -N '' -C dhg-test-client -f "$d/client" || fail "ssh-keygen client"
	cp "$d/client.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
	cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $d/hostkey
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
PidFile $d/sshd.pid
SetEnv PATH=/usr/bin:/bin:/usr/lib/git-core GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$GIT_CONFIG_GLOBAL
LogLevel ERROR
EOF
	/usr/sbin/sshd -D -e -f "$d/sshd_config" -p "$port" -h "$d/hostkey" 2>"$d/sshd.log" &
	PIDS+=($!)
	wait_for $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
		|| fail "sshd did not start: $(cat "$d/sshd.log")"
	echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/hostkey.pub")" >"$d/known_hosts"
	GIT_SSH_URL=ssh://$user@127.0.0.1:$port$GITSRV_ROOT
	GIT_SSH_KEY=$d/client
	GIT_SSH_KNOWN_HOSTS=$d/known_hosts
	export GIT_SSH_COMMAND="ssh -i $d/client -o IdentitiesOnly=yes -o UserKnownHostsFile=$d/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes"
}

# On failure, show the servers' own logs too (tests sourcing this file).
gitsrv_diag() {
	local f
	for f in "$T/gitsrv/http/error.log" "$T/gitsrv/http/fcgiwrap.log" "$T/gitsrv/ssh/sshd.log"; do
		[ -s "$f" ] && { echo "--- tail of $f"; tail -n 15 "$f"; }
	done
	if [ -n "${GITSRV_FCGI_PID:-}" ] && ! kill -0 "$GITSRV_FCGI_PID" 2>/dev/null; then
		echo "--- fcgiwrap ($GITSRV_FCGI_PID) is no longer running"
	fi
	return 0
}
fail() { echo "FAIL: $*" >&2; gitsrv_diag >&2; exit 1; }
