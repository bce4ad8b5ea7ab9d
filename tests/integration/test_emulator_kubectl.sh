#!/usr/bin/env bash
# Fidelity of the Kubernetes API emulator (tests/kube-emulator), proven with the real kubectl:
# 1.31 and 1.33 from .tools and /usr/bin/kubectl when present, each against a fresh emulator.
# Every sub-check prints "ok: [kubectl version] what" or "FAIL: ..."; any FAIL fails the script.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
set +e  # every sub-check reports itself; the verdict is at the end

KUBECTLS=()
for k in "$KUBECTL31" "$KUBECTL33" /usr/bin/kubectl; do
	[ -x "$k" ] && KUBECTLS+=("$k")
done
[ ${#KUBECTLS[@]} -gt 0 ] || skip "no kubectl installed (.tools/k8s-v31, .tools/k8s-v33, /usr/bin/kubectl)"

FAILS=0
KV=""
pass() { echo "ok: [$KV] $*"; }
bad() { echo "FAIL: [$KV] $*"; FAILS=$((FAILS + 1)); }
# check "what" cmd... : runs cmd, ok when it succeeds
check() { local what=$1; shift; if "$@"; then pass "$what"; else bad "$what"; fi; }
# jv FILE PYEXPR : prints PYEXPR evaluated with o = the JSON object in FILE
jv() { $PY -c 'import json,sys; o=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# jeq FILE PYEXPR EXPECTED
jeq() {
	local got
	got=$(jv "$1" "$2" 2>&1) || { echo "  ($2 failed: $got)"; return 1; }
	[ "$got" = "$3" ] || { echo "  ($2 = '$got', want '$3')"; return 1; }
}
has() { grep -qE -- "$2" "$1" || { echo "  ('$2' not in $1:)"; sed 's/^/    /' "$1" | head -n 20; return 1; }; }
hasnt() { ! grep -qE -- "$2" "$1" || { echo "  ('$2' unexpectedly in $1)"; return 1; }; }

write_manifests() {
	cat >"$M/app1.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - {containerPort: 80}
      - name: side
        image: busybox:1.36
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 80}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, labels: {app: web}}
data: {a: "1", b: "2"}
Y
	# second apply: image changed, env B and the "side" container and the "tier" label and data.b removed
	cat >"$M/app2.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.26
        env:
        - {name: A, value: "1"}
        ports:
        - {containerPort: 80}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 80}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, labels: {app: web}}
data: {a: "10"}
Y
	cat >"$M/ssa1.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: ssa, labels: {owner: ssa}}
data: {x: "1", y: "2"}
Y
	cat >"$M/ssa2.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: ssa, labels: {owner: ssa}}
data: {x: "100"}
Y
	cat >"$M/pod.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p1, labels: {app: p1}}
spec:
  containers:
  - {name: c, image: busybox:1.36}
Y
	cat >"$M/fin.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  finalizers: [example.com/hold]
data: {k: v}
Y
	cat >"$M/crd.yaml" <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [gadgets]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a test gadget of the emulator fidelity test.
        properties:
          spec:
            type: object
            description: Desired state of the widget.
            properties:
              size: {type: integer, minimum: 1, description: How many sprockets the widget has.}
              color: {type: string, enum: [blue, red], default: blue}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
Y
	cat >"$M/widget.yaml" <<'Y'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
Y
}

run_suite() {
	local kb=$1 S=$2 out err
	emu_start || { bad "emulator start"; return; }
	KV=$("$kb" version --client -o json 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' || echo "$kb")
	K() { "$kb" --kubeconfig "$EMU_KUBECONFIG" --cache-dir "$EMU_DIR/cache" "$@"; }
	out=$S/out err=$S/err

	# --- apply (client-side), then get in every output format
	check "apply creates deployment, service, configmap" eval 'K apply -f "$M/app1.yaml" >"$out" 2>"$err" && has "$out" "deployment.apps/web created" && has "$out" "service/web created"'
	check "get -o json (spec, generation 1, defaults)" eval 'K get deploy web -o json >"$out" 2>"$err" && jeq "$out" "o[\"spec\"][\"replicas\"], o[\"metadata\"][\"generation\"], o[\"metadata\"][\"name\"]" "(2, 1, '"'"'web'"'"')"'
	check "get -o yaml" eval 'K get cm cfg -o yaml >"$out" 2>"$err" && has "$out" "^  name: cfg$" && has "$out" "^  a: \"1\"$"'
	check "get -o name" eval 'K get deploy,svc,cm -o name >"$out" 2>"$err" && has "$out" "^deployment.apps/web$" && has "$out" "^service/web$" && has "$out" "^configmap/cfg$"'
	check "get -l (label selector)" eval 'K get deploy -l "tier=front,app in (web,x)" -o name >"$out" 2>"$err" && has "$out" "^deployment.apps/web$" && K get deploy -l "tier!=front" -o name >"$out" 2>"$err" && hasnt "$out" web'
	check "get table columns" eval 'K get deploy web >"$out" 2>"$err" && has "$out" "^NAME +READY +UP-TO-DATE +AVAILABLE +AGE" && has "$out" "^web +0/2 +0 +0 +[0-9]+s"'

	# --- second apply: 3-way merge patch
	check "apply again (configured)" eval 'K apply -f "$M/app2.yaml" >"$out" 2>"$err" && has "$out" "deployment.apps/web configured" && has "$out" "service/web unchanged"'
	K get deploy web -o json >"$S/d.json" 2>"$err"
	check "apply changed the image" jeq "$S/d.json" 'o["spec"]["template"]["spec"]["containers"][0]["image"]' "nginx:1.26"
	check "apply removed env B (kept A)" jeq "$S/d.json" '[e["name"] for e in o["spec"]["template"]["spec"]["containers"][0]["env"]]' "['A']"
	check "apply removed the side container" jeq "$S/d.json" '[c["name"] for c in o["spec"]["template"]["spec"]["containers"]]' "['app']"
	check "apply removed label tier" jeq "$S/d.json" 'sorted(o["metadata"]["labels"])' "['app']"
	check "generation bumped to 2 by the spec change" jeq "$S/d.json" 'o["metadata"]["generation"]' "2"
	K get cm cfg -o json >"$S/c.json" 2>"$err"
	check "apply changed cm data (a=10, b removed)" jeq "$S/c.json" 'o["data"]' "{'a': '10'}"

	# --- server-side apply
	check "apply --server-side creates" eval 'K apply --server-side -f "$M/ssa1.yaml" >"$out" 2>"$err" && has "$out" "configmap/ssa serverside-applied"'
	check "apply --server-side changes and removes fields" eval 'K apply --server-side -f "$M/ssa2.yaml" >"$out" 2>"$err" && K get cm ssa -o json --show-managed-fields >"$S/s.json" && jeq "$S/s.json" "o[\"data\"]" "{'"'"'x'"'"': '"'"'100'"'"'}"'
	check "server-side apply records managedFields" jeq "$S/s.json" '[(m["manager"], m["operation"]) for m in o["metadata"]["managedFields"]]' "[('kubectl', 'Apply')]"
	check "apply --server-side conflicts on a field another manager changed" eval 'K patch cm ssa --type=merge -p "{\"data\":{\"x\":\"other\"}}" >"$out" 2>"$err" && ! K apply --server-side -f "$M/ssa2.yaml" >"$out" 2>"$err" && has "$err" "Apply failed with 1 conflict: conflict with \"kubectl-patch\" using v1: .data.x"'
	check "apply --server-side --force-conflicts takes the field" eval 'K apply --server-side --force-conflicts -f "$M/ssa2.yaml" >"$out" 2>"$err" && K get cm ssa -o jsonpath="{.data.x}" >"$out" && has "$out" "^100$"'

	# --- imperative commands
	check "set image" eval 'K set image deployment/web app=nginx:1.27 >"$out" 2>"$err" && K get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}" >"$out" && has "$out" "^nginx:1.27$"'
	check "scale (scale subresource)" eval 'K scale deployment/web --replicas=5 >"$out" 2>"$err" && has "$out" "deployment.apps/web scaled" && K get deploy web -o jsonpath="{.spec.replicas} {.metadata.generation}" >"$out" && has "$out" "^5 4$"'
	check "label" eval 'K label deploy web env=prod >"$out" 2>"$err" && K get deploy -l env=prod -o name >"$out" && has "$out" "^deployment.apps/web$"'
	check "annotate" eval 'K annotate deploy web note=hello >"$out" 2>"$err" && K get deploy web -o jsonpath="{.metadata.annotations.note}" >"$out" && has "$out" "^hello$"'
	check "patch --type=merge" eval 'K patch cm cfg --type=merge -p "{\"data\":{\"m\":\"1\"}}" >"$out" 2>"$err" && K get cm cfg -o json >"$S/c.json" && jeq "$S/c.json" "sorted(o[\"data\"].items())" "[('"'"'a'"'"', '"'"'10'"'"'), ('"'"'m'"'"', '"'"'1'"'"')]"'
	check "patch --type=json" eval 'K patch cm cfg --type=json -p "[{\"op\":\"remove\",\"path\":\"/data/m\"},{\"op\":\"add\",\"path\":\"/data/j\",\"value\":\"2\"}]" >"$out" 2>"$err" && K get cm cfg -o json >"$S/c.json" && jeq "$S/c.json" "sorted(o[\"data\"])" "['"'"'a'"'"', '"'"'j'"'"']"'
	check "patch --type=strategic merges env by name" eval 'K patch deploy web --type=strategic -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"C\",\"value\":\"3\"}]}]}}}}" >"$out" 2>"$err" && K get deploy web -o json >"$S/d.json" && jeq "$S/d.json" "[(c[\"name\"], c[\"image\"], [e[\"name\"] for e in c[\"env\"]]) for c in o[\"spec\"][\"template\"][\"spec\"][\"containers\"]]" "[('"'"'app'"'"', '"'"'nginx:1.27'"'"', ['"'"'C'"'"', '"'"'A'"'"'])]"'
	check "patch json test op failure is an error" eval '! K patch cm cfg --type=json -p "[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"nope\"}]" >"$out" 2>"$err"'
	check "patch --subresource=status changes status only" eval 'K patch deploy web --subresource=status --type=merge -p "{\"status\":{\"readyReplicas\":5,\"replicas\":5}}" >"$out" 2>"$err" && K get deploy web -o json >"$S/d.json" && jeq "$S/d.json" "(o[\"status\"][\"readyReplicas\"], o[\"metadata\"][\"generation\"])" "(5, 5)"'
	check "main-resource patch ignores status" eval 'K patch deploy web --type=merge -p "{\"status\":{\"readyReplicas\":1}}" >"$out" 2>"$err" && K get deploy web -o jsonpath="{.status.readyReplicas}" >"$out" && has "$out" "^5$"'
	check "table shows patched status" eval 'K get deploy web >"$out" 2>"$err" && has "$out" "^web +5/5 "'

	# --- wait for a condition set through the status subresource
	K apply -f "$M/pod.yaml" >"$out" 2>"$err" || bad "apply pod: $(cat "$err")"
	(K wait --for=condition=Ready pod/p1 --timeout=15s >"$S/wait.out" 2>&1; echo $? >"$S/wait.rc") &
	local wpid=$!
	sleep 1
	K patch pod p1 --subresource=status --type=merge -p '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}' >"$out" 2>"$err" || bad "patch pod status: $(cat "$err")"
	wait "$wpid"
	check "wait --for=condition=Ready" eval '[ "$(cat "$S/wait.rc")" = 0 ] && has "$S/wait.out" "pod/p1 condition met"'

	# --- get -w shows changes
	K apply -f - >/dev/null 2>"$err" <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched"},"data":{"n":"0"}}'
	(timeout 6 "$kb" --kubeconfig "$EMU_KUBECONFIG" --cache-dir "$EMU_DIR/cache" get cm watched -w --output-watch-events >"$S/watch.out" 2>&1 || true) &
	local gpid=$!
	for _ in $(seq 1 50); do grep -q watched "$S/watch.out" 2>/dev/null && break; sleep 0.1; done
	K patch cm watched --type=merge -p '{"data":{"n2":"1"}}' >/dev/null 2>"$err"
	sleep 0.3
	K patch cm watched --type=merge -p '{"data":{"n3":"2"}}' >/dev/null 2>"$err"
	sleep 0.3
	K delete cm watched >/dev/null 2>"$err"
	sleep 0.5
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	# table rows: EVENT NAME DATA AGE (DATA = number of keys: 1, 2, 3)
	check "get -w shows ADDED, two MODIFIED, DELETED" eval 'has "$S/watch.out" "^EVENT +NAME +DATA +AGE" && has "$S/watch.out" "^ADDED +watched +1 " && has "$S/watch.out" "^MODIFIED +watched +2 " && has "$S/watch.out" "^MODIFIED +watched +3 " && has "$S/watch.out" "^DELETED +watched +3 "'

	# --- delete, finalizers
	check "delete" eval 'K delete cm cfg >"$out" 2>"$err" && has "$out" "configmap \"cfg\" deleted" && ! K get cm cfg >"$out" 2>"$err"'
	K apply -f "$M/fin.yaml" >"$out" 2>"$err" || bad "apply held: $(cat "$err")"
	check "delete with a finalizer keeps the object with deletionTimestamp" eval 'K delete cm held --wait=false >"$out" 2>"$err" && K get cm held -o json >"$S/h.json" 2>"$err" && jeq "$S/h.json" "bool(o[\"metadata\"].get(\"deletionTimestamp\")), o[\"metadata\"][\"finalizers\"]" "(True, ['"'"'example.com/hold'"'"'])"'
	check "removing the finalizer deletes it" eval 'K patch cm held --type=json -p "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]" >"$out" 2>"$err" && ! K get cm held >"$out" 2>"$err" && has "$err" "NotFound"'

	# --- Secret stringData is write-only: folded into data (base64) like the API server does
	check "secret stringData -> data" eval 'printf "apiVersion: v1\nkind: Secret\nmetadata: {name: sd}\nstringData: {pw: s3cr3t}\ndata: {a: YQ==}\n" | K apply -f - >/dev/null 2>"$err" && K get secret sd -o json >"$out" && $PY -c "import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if o[\"data\"]=={\"pw\":\"czNjcjN0\",\"a\":\"YQ==\"} and \"stringData\" not in o else 1)" "$out"'

	# --- get all (category "all")
	check "get all" eval 'K get all >"$out" 2>"$err" && has "$out" "^pod/p1 " && has "$out" "^service/web +ClusterIP +10\\.96\\." && has "$out" "^deployment.apps/web +5/5 "'

	# --- CRD, custom resource, short name, category, printer columns, explain
	check "apply CRD" eval 'K apply -f "$M/crd.yaml" >"$out" 2>"$err" && has "$out" "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"'
	check "CRD is Established" eval 'K wait --for=condition=Established crd/widgets.example.com --timeout=10s >"$out" 2>"$err"'
	check "apply custom resource" eval 'K apply -f "$M/widget.yaml" >"$out" 2>"$err" && has "$out" "widget.example.com/w1 created"'
	check "list by short name with printer columns" eval 'K get wd >"$out" 2>"$err" && has "$out" "^NAME +SIZE +READY +AGE" && has "$out" "^w1 +3 +"'
	check "list by category" eval 'K get gadgets -o name >"$out" 2>"$err" && has "$out" "^widget.example.com/w1$"'
	check "custom resource status subresource + printer column" eval 'K patch wd w1 --subresource=status --type=merge -p "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >"$out" 2>"$err" && K get wd w1 >"$out" 2>"$err" && has "$out" "^w1 +3 +True +"'
	check "custom resource apply again (merge patch), generation" eval 'sed "s/size: 3/size: 4/" "$M/widget.yaml" | K apply -f - >"$out" 2>"$err" && K get wd w1 -o jsonpath="{.spec.size} {.metadata.generation}" >"$out" && has "$out" "^4 2$"'
	check "CRD schema default applied (spec.color)" eval 'K get wd w1 -o jsonpath="{.spec.color}" >"$out" 2>"$err" && has "$out" "^blue$"'
	check "CRD schema validation → Invalid (enum, minimum)" eval '! sed "s/size: 3/size: 0, color: green/" "$M/widget.yaml" | K apply -f - >"$out" 2>"$err" && has "$err" "spec.color: Unsupported value: \"green\"" && has "$err" "spec.size in body should be greater than or equal to 1"'
	check "CRD unknown field → strict decoding error" eval '! sed "s/size: 3/size: 3, bogus: 1/" "$M/widget.yaml" | K apply -f - >"$out" 2>"$err" && has "$err" "unknown field \"spec.bogus\""'
	check "explain the CRD (openapi v3)" eval 'K explain widgets.spec >"$out" 2>"$err" && has "$out" "Desired state of the widget" && has "$out" "How many sprockets"'

	# --- events: core/v1 and events.k8s.io/v1 are the same objects
	K apply -f - >/dev/null 2>"$err" <<<'{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"ev1"},"eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"fidelity","reportingInstance":"t","action":"Test","reason":"Tested","type":"Normal","note":"hello from events.k8s.io","regarding":{"kind":"ConfigMap","name":"ssa","namespace":"default"}}' || bad "apply events.k8s.io Event: $(cat "$err")"
	check "get events (core/v1) shows an events.k8s.io Event" eval 'K get events -o json >"$S/ev.json" 2>"$err" && jeq "$S/ev.json" "[(i[\"reason\"], i[\"message\"]) for i in o[\"items\"]]" "[('"'"'Tested'"'"', '"'"'hello from events.k8s.io'"'"')]"'

	# --- errors
	check "get missing object → NotFound" eval '! K get cm missing >"$out" 2>"$err" && has "$err" "Error from server \\(NotFound\\): configmaps \"missing\" not found"'
	check "missing namespace → NotFound" eval '! K apply -n nosuchns -f "$M/ssa1.yaml" >"$out" 2>"$err" && has "$err" "namespaces \"nosuchns\" not found"'
	# kubectl 1.31 sends typed create bodies as JSON, newer ones as protobuf (→ 415, documented)
	if K create configmap pb --from-literal=a=b >"$out" 2>"$err"; then
		check "kubectl create (JSON body) creates" eval 'K get cm pb -o jsonpath="{.data.a}" >"$out" 2>"$err" && has "$out" "^b$"'
	else
		check "kubectl create (protobuf body) → 415 UnsupportedMediaType" has "$err" "unknown format.*protobuf"
	fi

	emu_stop
}

M=$T/manifests
mkdir -p "$M"
write_manifests
start=$(date +%s)

# Protocol-level checks kubectl does not reach (auth/rotation, TLS, faults, watch 410/bookmarks/
# selectors/drop, pagination, status/generation rules, finalizers, GC, namespaces, CRDs, --load).
# It runs in the background (mostly waiting on timeouts) while kubectl drives other emulators.
$PY "$ROOT/tests/kube-emulator/selftest.py" --quick >"$T/selftest.out" 2>&1 &
SELFTEST_PID=$!

# The kubectl suites run side by side, each with its own emulator and files; their outputs are
# printed in order once all are done.
idx=0
SUITE_PIDS=()
for kb in "${KUBECTLS[@]}"; do
	idx=$((idx + 1))
	mkdir -p "$T/suite.$idx"
	(
		# shellcheck disable=SC2034  # read by emu_start (emulator.sh): distinct emulator dirs per suite
		EMU_SEQ=$((idx * 100))
		trap 'emu_stop' EXIT
		run_suite "$kb" "$T/suite.$idx"
		echo "$FAILS" >"$T/suite.$idx/fails"
	) >"$T/suite.$idx.log" 2>&1 &
	SUITE_PIDS+=("$!")
done

# kubectl through TLS (test CA) + bearer token, using the kubeconfig the emulator writes
KV=tls+token
if command -v openssl >/dev/null; then
	(cd "$T" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=emu-ca \
		&& openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 \
		&& printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf \
		&& openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext.cnf) >/dev/null 2>&1
	echo "secret-token-1" >"$T/tokens"
	if emu_start --tls-cert "$T/srv.crt" --tls-key "$T/srv.key" --tls-ca "$T/ca.crt" --token-file "$T/tokens"; then
		kb=${KUBECTLS[-1]}
		check "kubectl over verified TLS with a token" eval '"$kb" --kubeconfig "$EMU_KUBECONFIG" get ns default -o name >"$T/o" 2>"$T/e" && has "$T/o" "^namespace/default$"'
		echo "secret-token-2" >"$T/tokens"
		check "rotated token → kubectl gets Unauthorized" eval '! "$kb" --kubeconfig "$EMU_KUBECONFIG" get ns default >"$T/o" 2>"$T/e" && has "$T/e" "Unauthorized|provide credentials"'
		check "kubectl with --token=new works" eval '"$kb" --kubeconfig "$EMU_KUBECONFIG" --token secret-token-2 get ns default -o name >"$T/o" 2>"$T/e"'
		emu_stop
	else
		bad "emulator with TLS + token did not start"
	fi
fi
# --controllers: rollout status / wait for Available work like on a cluster
KV=controllers
kb=${KUBECTLS[-1]}
if emu_start --controllers; then
	check "controllers: apply + rollout status" eval '"$kb" --kubeconfig "$EMU_KUBECONFIG" apply -f "$M/app1.yaml" >"$T/o" 2>"$T/e" && "$kb" --kubeconfig "$EMU_KUBECONFIG" rollout status deploy/web --timeout=10s >"$T/o" 2>"$T/e" && has "$T/o" "successfully rolled out"'
	check "controllers: set image, rollout status, wait Available" eval '"$kb" --kubeconfig "$EMU_KUBECONFIG" set image deploy/web app=nginx:2 >"$T/o" 2>"$T/e" && "$kb" --kubeconfig "$EMU_KUBECONFIG" rollout status deploy/web --timeout=10s >"$T/o" 2>"$T/e" && "$kb" --kubeconfig "$EMU_KUBECONFIG" wait --for=condition=Available deploy/web --timeout=10s >"$T/o" 2>"$T/e"'
	emu_stop
else
	bad "emulator with --controllers did not start"
fi

idx=0
for p in "${SUITE_PIDS[@]}"; do
	idx=$((idx + 1))
	wait "$p"
	cat "$T/suite.$idx.log"
	f=$(cat "$T/suite.$idx/fails" 2>/dev/null || echo 1)
	FAILS=$((FAILS + f))
done
KV=selftest
if wait "$SELFTEST_PID"; then
	pass "emulator selftest: $(grep -c '^ok:' "$T/selftest.out") protocol checks"
else
	grep -v '^ok:' "$T/selftest.out" | sed 's/^/  /' | head -n 40
	bad "emulator selftest"
fi
echo "emulator fidelity: ${#KUBECTLS[@]} kubectl version(s), $FAILS failure(s), $(( $(date +%s) - start ))s"
[ "$FAILS" -eq 0 ] || fail "$FAILS emulator fidelity check(s) failed"
ok "emulator fidelity with ${#KUBECTLS[@]} kubectl version(s)"
