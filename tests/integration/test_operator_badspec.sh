#!/usr/bin/env bash
# Bad specs -> Stalled/Ready=False with a precise message, other HelmCharts still served;
# isolation: a HelmChart in namespace A reads neither objects nor Secrets of namespace B.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_namespace team-b
op_app shop shop nginx:1.25
op_app team-b shop nginx:9.9          # same labels in another namespace
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: team-b}\nstringData: {username: u, password: p}\n' | K apply -f - >/dev/null
op_hc shop good shop 0s

# name|spec body (under spec:)|expected condition|expected message fragment
cases=(
"no-source|{chart: {version: 0.1.0}, output: {local: {}}}|Stalled|spec.source: exactly one of cluster or git must be set (none is set)"
"two-sources|{source: {cluster: {}, git: {url: 'https://git.example/a.git'}}, output: {local: {}}}|Stalled|spec.source: exactly one of cluster or git must be set (both are set)"
"bad-kind|{source: {cluster: {kinds: [Deployment, Gizmo]}}, output: {local: {}}}|Stalled|spec.source.cluster.kinds[1]: unknown kind \"Gizmo\""
"bad-selector|{source: {cluster: {selector: {matchExpressions: [{key: a, operator: Sometimes}]}}}, output: {local: {}}}|Stalled|spec.source.cluster.selector"
"bad-version|{chart: {version: '1.2'}, source: {cluster: {}}, output: {local: {}}}|Stalled|spec.chart.version: \"1.2\" is not a semantic version"
"cross-ns|{source: {cluster: {namespaces: [team-b]}}, output: {local: {}}}|Stalled|namespace team-b is not the HelmChart's namespace (shop) and the operator runs without --allow-cross-namespace"
"no-secret|{source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}, output: {local: {}, oci: {repository: 'oci://127.0.0.1:1/charts', secretRef: {name: creds}}}}|Ready=False|Secret shop/creds not found"
)
applied=()
for c in "${cases[@]}"; do
	IFS='|' read -r name body cond msg <<<"$c"
	printf 'apiVersion: dhg.deckhouse.io/v1alpha1\nkind: HelmChart\nmetadata: {name: %s, namespace: shop}\nspec: %s\n' "$name" "$body" >"$T/$name.yaml"
	if K apply -f "$T/$name.yaml" >"$T/$name.apply" 2>&1; then
		applied+=("$c")
	else
		echo "note: $name rejected by the API server's schema validation: $(head -c 200 "$T/$name.apply")"
	fi
done
op_start op
K wait --for=condition=Ready hc/good -n shop --timeout=30s >/dev/null || { tail -20 "$T/op.log"; fail "good HelmChart not Ready next to bad ones"; }
[ "$(op_status shop good .status.resourceCount)" = 3 ] || fail "good: resourceCount $(op_status shop good .status.resourceCount) (objects of team-b leaked in?)"
grep -q 'nginx:9.9\|9.9' -r "$OUT/shop/good" && fail "team-b's object is in shop's chart"
ok "good HelmChart served; only its namespace's objects"
for c in "${applied[@]}"; do
	IFS='|' read -r name body cond msg <<<"$c"
	if [ "$cond" = Stalled ]; then
		op_wait_status shop "$name" '.status.conditions[?(@.type=="Stalled")].status' True \
			|| fail "$name: not Stalled: $(K get hc "$name" -n shop -o jsonpath='{.status}')"
		reason=$(op_status shop "$name" '.status.conditions[?(@.type=="Stalled")].reason')
		[ "$reason" = InvalidSpec ] || fail "$name: reason $reason"
	else
		op_wait_status shop "$name" '.status.conditions[?(@.type=="Ready")].status' False \
			|| fail "$name: not Ready=False: $(K get hc "$name" -n shop -o jsonpath='{.status}')"
	fi
	got=$(op_status shop "$name" '.status.conditions[?(@.type=="Ready")].message')
	grep -qF -- "$msg" <<<"$got" || fail "$name: message \"$got\" lacks \"$msg\""
	[ "$(op_status shop "$name" '.status.conditions[?(@.type=="Ready")].status')" = False ] || fail "$name: Ready not False"
	ok "$name -> $cond: $got"
done
grep -q 'password\|"p"' <(K get hc -n shop -o json | grep -i message) && fail "credential in a status message"
K get events -n shop -o jsonpath='{.items[*].reason}' | grep -q InvalidSpec || fail "no InvalidSpec event"
# an invalid spec is not retried (no reconcile storm): count its reconcile lines over 3 s
n1=$(grep -c '"name":"bad-kind"' "$T/op.log" || true)
sleep 3
n2=$(grep -c '"name":"bad-kind"' "$T/op.log" || true)
[ "$n1" = "$n2" ] || fail "Stalled HelmChart reconciled again without a spec change ($n1 -> $n2)"
# fixing the spec (generation change) makes it Ready
K patch hc bad-kind -n shop --type=merge -p '{"spec":{"source":{"cluster":{"kinds":["Deployment"],"selector":{"matchLabels":{"app.kubernetes.io/part-of":"shop"}}}}}}' >/dev/null
K wait --for=condition=Ready hc/bad-kind -n shop --timeout=20s >/dev/null || fail "fixed spec not Ready: $(K get hc bad-kind -n shop -o jsonpath='{.status.conditions}')"
[ -z "$(op_status shop bad-kind '.status.conditions[?(@.type=="Stalled")].status')" ] || fail "Stalled not cleared"
ok "fixed spec -> Ready, Stalled cleared"
