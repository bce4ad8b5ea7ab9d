#!/usr/bin/env bash
# dhg push against a real registry (docker-registry, plain HTTP, anonymous), consumed by the real
# helm 3.17 and 4.1: byte-for-byte pulls, idempotent re-push, no overwrite, chunked uploads.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"

command -v docker-registry >/dev/null || skip "docker-registry not installed"
[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm binaries missing (make deps)"
[ -x "$BUILD/dhg" ] || fail "no $BUILD/dhg"

export HOME=$T/home HELM_CACHE_HOME=$T/helm/cache HELM_CONFIG_HOME=$T/helm/config HELM_DATA_HOME=$T/helm/data
export HELM_REGISTRY_CONFIG=$T/helm/registry.json
mkdir -p "$HOME"

registry_start
registry_chart "$T/chart" demo 0.1.0+build.1
cat >>"$T/chart/Chart.yaml" <<'EOF'
kubeVersion: ">=1.25.0-0"
keywords: [demo, test]
maintainers:
  - name: Dee Aitch
    email: dhg@example.invalid
annotations:
  example.com/z: last
  example.com/a: "first & <only>"
EOF
echo "junk" >"$T/chart/notes.bak"          # ignored by .helmignore
echo "hidden" >"$T/chart/templates/.swp"  # ignored by Helm's default rule

# usage
$DHG push --help | grep "Usage: dhg push" >/dev/null || fail "--help"
set +e
$DHG push "$T/chart" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "missing repository: exit $rc, want 2"
$DHG push "$T/chart" "oci://$REG_HOST/charts" --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown flag: exit $rc, want 2"
$DHG push "$T/chart" "https://$REG_HOST/charts" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "non-oci URL: exit $rc, want 2"
$DHG push "$T/nope" "oci://$REG_HOST/charts" --plain-http >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "nope" "$T/err" || fail "missing chart dir: exit $rc, $(cat "$T/err")"
set -e
ok "usage and exit codes"

# first push
$DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http >"$T/out1"
cat "$T/out1"
ref="$REG_HOST/charts/demo:0.1.0_build.1"
grep -qx "Pushed: $ref" "$T/out1" || fail "Pushed line: $(cat "$T/out1")"
digest=$(sed -n 's/^Digest: //p' "$T/out1")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || fail "Digest line: $(cat "$T/out1")"
[ "$(wc -l <"$T/out1")" -eq 2 ] || fail "output has extra lines"

# what the registry holds
curl -fsS -D "$T/manifest.headers" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG_HOST/v2/charts/demo/manifests/0.1.0_build.1" >"$T/manifest.json"
mtype=$(tr -d '\r' <"$T/manifest.headers" | sed -n 's/^Content-Type: //Ip')
[ "sha256:$(sha256sum <"$T/manifest.json" | cut -d' ' -f1)" = "$digest" ] || fail "manifest digest differs from printed"
read -r cfgtype layertype layerdigest created < <($PY -c '
import json,sys; m=json.load(open(sys.argv[1]))
print(m["config"]["mediaType"], m["layers"][0]["mediaType"], m["layers"][0]["digest"],
      "org.opencontainers.image.created" in m.get("annotations",{}))' "$T/manifest.json")
[ "$mtype" = application/vnd.oci.image.manifest.v1+json ] || fail "manifest mediaType $mtype"
[ "$cfgtype" = application/vnd.cncf.helm.config.v1+json ] || fail "config mediaType $cfgtype"
[ "$layertype" = application/vnd.cncf.helm.chart.content.v1.tar+gzip ] || fail "layer mediaType $layertype"
[ "$created" = False ] || fail "manifest has a created timestamp"
cfgdigest=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' "$T/manifest.json")
curl -fsS "http://$REG_HOST/v2/charts/demo/blobs/$cfgdigest" >"$T/config.json"
$PY - "$T/config.json" <<'EOF' || fail "config blob: $(cat "$T/config.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"name": "demo", "version": "0.1.0+build.1", "description": "A test chart for dhg push",
             "keywords": ["demo", "test"], "maintainers": [{"name": "Dee Aitch", "email": "dhg@example.invalid"}],
             "apiVersion": "v2", "appVersion": "1.4.2", "kubeVersion": ">=1.25.0-0",
             "annotations": {"example.com/a": "first & <only>", "example.com/z": "last"},
             "type": "application"}, c
EOF
ok "manifest and config blob in Helm's format"

# helm 3 and helm 4 pull it byte-for-byte and can read it
for H in "$HELM3" "$HELM4"; do
	v=$($H version --short)
	rm -rf "$T/pull" && mkdir -p "$T/pull"
	$H pull "oci://$REG_HOST/charts/demo" --version 0.1.0+build.1 --plain-http -d "$T/pull" >"$T/pull.log" 2>&1 ||
		fail "$v pull: $(cat "$T/pull.log")"
	f="$T/pull/demo-0.1.0+build.1.tgz"
	[ -f "$f" ] || fail "$v: no pulled file: $(ls "$T/pull")"
	[ "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" = "$layerdigest" ] || fail "$v: pulled tgz differs from the layer"
	$H show chart "oci://$REG_HOST/charts/demo" --version 0.1.0+build.1 --plain-http >"$T/show" 2>"$T/show.err" ||
		fail "$v show chart: $(cat "$T/show.err")"
	grep -qx "name: demo" "$T/show" && grep -qx "version: 0.1.0+build.1" "$T/show" || fail "$v show chart: $(cat "$T/show")"
	$H template r1 "$f" | grep "image: \"nginx\"" >/dev/null || fail "$v cannot render the pulled chart"
	ok "$v pulls the same bytes and reads the chart"
done

# `helm push` of our package: Helm writes the same config blob (byte for byte) and the same
# layer; its manifest differs only by the "created" annotation we leave out on purpose.
for H in "$HELM3" "$HELM4"; do
	v=$($H version --short)
	hrepo=helm$(echo "$v" | cut -c2)
	$H push "$T/pull/demo-0.1.0+build.1.tgz" "oci://$REG_HOST/$hrepo" --plain-http >"$T/hpush.log" 2>&1 ||
		fail "$v push: $(cat "$T/hpush.log")"
	curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG_HOST/v2/$hrepo/demo/manifests/0.1.0_build.1" >"$T/helm-manifest.json"
	$PY - "$T/manifest.json" "$T/helm-manifest.json" <<'EOF' || fail "$v: helm push's manifest differs from ours"
import json, sys
ours, theirs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
theirs.get("annotations", {}).pop("org.opencontainers.image.created", None)
assert ours["config"] == theirs["config"], (ours["config"], theirs["config"])
assert ours["layers"] == theirs["layers"], (ours["layers"], theirs["layers"])
assert ours == theirs, (ours, theirs)
EOF
	# byte for byte, once Helm's "created" is taken out of its JSON text
	sed -E 's/"org\.opencontainers\.image\.created":"[^"]*",?//' "$T/helm-manifest.json" | cmp -s - "$T/manifest.json" ||
		fail "$v: manifest bytes differ beyond 'created': $(cat "$T/helm-manifest.json")"
	ok "$v push of our .tgz: same config blob, same layer, same manifest but for 'created'"
done

# the archive: files only, sorted (Chart.yaml first), ignored files absent, contents identical
tar -tzvf "$T/pull/demo-0.1.0+build.1.tgz" >"$T/listing"
cat "$T/listing"
awk '{print $6}' "$T/listing" >"$T/names"
printf 'demo/Chart.yaml\ndemo/.helmignore\ndemo/templates/configmap.yaml\ndemo/values.yaml\n' | diff - "$T/names" ||
	fail "archive entries"
awk '{print $1, $2, $4, $5}' "$T/listing" | sort -u | grep -vx -- '-rw-r--r-- 0/0 1970-01-01 00:00' >/dev/null &&
	fail "archive modes/owners/mtimes not fixed"
mkdir -p "$T/x" && tar -xzf "$T/pull/demo-0.1.0+build.1.tgz" -C "$T/x"
for f in Chart.yaml .helmignore templates/configmap.yaml values.yaml; do
	cmp "$T/chart/$f" "$T/x/demo/$f" || fail "content of $f"
done
ok "archive layout"

# same chart again (also from a copy with other mtimes, in another order on disk): same digest
$DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http >"$T/out2"
diff "$T/out1" "$T/out2" || fail "second push printed something else"
sleep 1.1
cp -r "$T/chart" "$T/copy" && touch "$T/copy/values.yaml" "$T/copy/Chart.yaml"
$DHG push "$T/copy" "oci://$REG_HOST/charts" --plain-http >"$T/out3"
diff "$T/out1" "$T/out3" || fail "push from a copy gives another digest"
$DHG push "$T/copy" "oci://$REG_HOST/other" --plain-http >"$T/out4"
[ "$(sed -n 's/^Digest: //p' "$T/out4")" = "$digest" ] || fail "same content, other repository: other digest"
ok "re-push is a no-op with the same digest; reproducible across copies"

# different content, same version: refused, tag unchanged
echo "extra: true" >>"$T/copy/values.yaml"
set +e
$DHG push "$T/copy" "oci://$REG_HOST/charts" --plain-http >"$T/out5" 2>"$T/err5"; rc=$?
set -e
cat "$T/err5"
[ $rc -eq 1 ] || fail "conflicting push exit $rc"
grep -q "already exists with digest $digest" "$T/err5" || fail "conflict message"
grep -q "refusing to overwrite" "$T/err5" || fail "conflict message"
[ ! -s "$T/out5" ] || fail "conflicting push printed to stdout"
now=$(curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG_HOST/v2/charts/demo/manifests/0.1.0_build.1" | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
[ "$now" = "$digest" ] || fail "tag moved to $now"
ok "different content for an existing tag is refused; tag unchanged"

# chunked upload path (PATCH + PUT) with a bumped version, then helm 4 pulls it
sed -i 's/^version: .*/version: 0.2.0/' "$T/copy/Chart.yaml"
DHG_OCI_FORCE_CHUNKED=1 $DHG push "$T/copy" "oci://$REG_HOST/charts" --plain-http --debug >"$T/out6" 2>"$T/err6" ||
	fail "chunked push: $(cat "$T/err6")"
grep -q 'PATCH /v2/charts/demo/blobs/uploads/' "$T/err6" || fail "no PATCH in chunked push"
grep -qx "Pushed: $REG_HOST/charts/demo:0.2.0" "$T/out6" || fail "chunked push output"
# config blob was already there? no: the version changed it; the layer is new too
rm -rf "$T/pull" && mkdir -p "$T/pull"
$HELM4 pull "oci://$REG_HOST/charts/demo" --version 0.2.0 --plain-http -d "$T/pull" >/dev/null 2>&1 || fail "pull chunked"
tar -xzOf "$T/pull/demo-0.2.0.tgz" demo/values.yaml | grep "extra: true" >/dev/null || fail "chunked content"
ok "chunked upload"

# the debug log never contains the upload state token
grep -q '_state=' "$T/err6" && fail "upload state token in the log"
# a chart made by `dhg generate` (when the generator is part of this build): pushed, pulled by
# helm 4 and rendered; generating again from the same input gives the same OCI digest.
shop_manifests "$T/app.yaml"
if $DHG generate -f "$T/app.yaml" -o "$T/gen1" --chart-name shop >"$T/gen.log" 2>&1 &&
	$DHG generate -f "$T/app.yaml" -o "$T/gen2" --chart-name shop >>"$T/gen.log" 2>&1; then
	$DHG push "$T/gen1" "oci://$REG_HOST/generated" --plain-http >"$T/g1" || fail "push generated chart"
	$DHG push "$T/gen2" "oci://$REG_HOST/generated" --plain-http >"$T/g2" || fail "push regenerated chart"
	diff "$T/g1" "$T/g2" || fail "regenerated chart: other digest"
	rm -rf "$T/pull" && mkdir -p "$T/pull"
	gv=$(sed -n 's/^version: //p' "$T/gen1/Chart.yaml" | tr -d "\"'")
	$HELM4 pull "oci://$REG_HOST/generated/shop" --version "$gv" --plain-http -d "$T/pull" >/dev/null 2>&1 ||
		fail "helm pull of the generated chart"
	$HELM4 template r1 "$T/pull/shop-$gv.tgz" --namespace shop | grep "kind: Deployment" >/dev/null ||
		fail "generated chart does not render"
	ok "dhg generate output pushed, pulled, rendered; regeneration gives the same digest"
else
	echo "note: dhg generate not usable in this build, generated-chart case not run: $(tail -n 1 "$T/gen.log")"
fi
ok "all"
