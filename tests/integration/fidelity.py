#!/usr/bin/python3
"""Strict fidelity comparator: `helm template` output against the input manifests.

Usage:
  fidelity.py --input PATH [--input PATH...] --rendered FILE --namespace NS [--case NAME]
  fidelity.py --namespace-of PATH...     print the most common namespace (ties: smallest; none: default)
  fidelity.py --self-test                check the comparator itself

Both sides are parsed with a YAML 1.2 core-schema loader (only true/false, null/~/empty,
decimal/0o/0x integers and floats are implicit; `yes`, `on`, timestamps stay strings).
Numbers that YAML 1.1 readers such as kubectl read differently (0755 octal, 0o17 and 1e3
strings) must also keep their exact text. Objects are matched by (apiVersion group, kind,
namespace, name). Every field and every type must be equal. The only differences allowed are the three documented in DESIGN.md:
  1. extra top-level metadata.labels keys from exactly CHART_LABELS, when absent in the input;
  2. extra `checksum/*` keys in pod-template annotations (creating that map is allowed);
  3. deprecated apiVersions migrated: when an `input` directory has a sibling `expected`
     directory, the expected objects are read from it instead.
A namespaced object written without metadata.namespace may come back with the release
namespace (it is installed there either way). When an input object is a live object (it has
status, metadata.uid, resourceVersion, managedFields or creationTimestamp), the runtime fields
the engine strips (DESIGN.md) are removed from the expected side first; owner-managed objects
are dropped from it.
Exit status: 0 all equal, 1 differences (listed on stdout), 2 usage or unreadable input.
"""
import collections
import math
import os
import re
import sys

import yaml

CHART_LABELS = {
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
}

CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "PriorityClass", "IngressClass", "RuntimeClass", "CSIDriver",
    "CSINode", "VolumeAttachment", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "FlowSchema",
    "PriorityLevelConfiguration", "ClusterIssuer", "ComponentStatus",
}

POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

OWNER_MANAGED = {"ReplicaSet", "Pod", "Endpoints", "EndpointSlice", "ControllerRevision"}


# ---- YAML 1.2 core schema ---------------------------------------------------------------------

class Core12Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit resolvers only."""


Core12Loader.yaml_implicit_resolvers = {}


def _resolver(tag, regexp, first):
    Core12Loader.add_implicit_resolver(tag, re.compile(regexp, re.X), list(first))


_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
_resolver("tag:yaml.org,2002:float",
          r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789.")


def _construct_bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


def _text_number(base, doc):
    """A number type whose values remember their source text: two of them are equal only when
    their text is, and one never equals a plain number of the same value."""

    class TextNumber(base):
        __doc__ = doc

        def __new__(cls, value, text):
            o = base.__new__(cls, value)
            o.text = text
            return o

        def __repr__(self):
            return self.text

        def __deepcopy__(self, memo):
            return self

        def __hash__(self):
            return base.__hash__(self)

        def __eq__(self, other):
            if isinstance(other, TextNumber):
                return self.text == other.text
            return NotImplemented if not isinstance(other, base) else False

        def __ne__(self, other):
            r = self.__eq__(other)
            return r if r is NotImplemented else not r

    return TextNumber


# An integer written in a non-canonical form (0755, 0o17, 0x1F, +5). YAML 1.1 readers such as
# kubectl's read some of these differently (0755 is octal there, 0o17 a string), so the exact
# text must survive.
TextInt = _text_number(int, "An integer kept with its non-canonical source text (0755, 0o17, 0x1F, +5).")
# A float written in a form that YAML 1.1 readers (kubectl) do not read as a float (1e3, 1E+3:
# a string there).
TextFloat = _text_number(float, "A float kept with its source text (1e3, 1E+3).")


def _construct_int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        n = int(v[2:], 8)
    elif v.startswith("0x"):
        n = int(v[2:], 16)
    else:
        n = int(v, 10)
    return n if str(n) == v else TextInt(n, v)


YAML11_FLOAT = re.compile(r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
                          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


def _construct_float(loader, node):
    text = loader.construct_scalar(node)
    v = text.lower()
    if v.endswith(".inf"):
        f = -math.inf if v.startswith("-") else math.inf
    elif v == ".nan":
        f = math.nan
    else:
        f = float(v)
    return f if YAML11_FLOAT.match(text) else TextFloat(f, text)


def _construct_str(loader, node):
    return loader.construct_scalar(node)


Core12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
Core12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Core12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
# YAML 1.2 has no timestamps: an explicitly tagged one is kept as its text.
Core12Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)


def load_docs(text, where):
    try:
        return [d for d in yaml.load_all(text, Loader=Core12Loader) if d is not None]
    except yaml.YAMLError as e:
        raise SystemExit("fidelity: %s: YAML error: %s" % (where, e))


def yaml_files(path):
    if os.path.isfile(path):
        return [path]
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and f.endswith((".yaml", ".yml")):
                out.append(os.path.join(root, f))
    return sorted(out)


def load_objects(paths):
    objs = []
    for p in paths:
        if not os.path.exists(p):
            raise SystemExit("fidelity: %s: no such file or directory" % p)
        for f in yaml_files(p):
            with open(f, encoding="utf-8") as fh:
                for d in load_docs(fh.read(), f):
                    if isinstance(d, dict) and d.get("kind") == "List" and isinstance(d.get("items"), list):
                        objs.extend(i for i in d["items"] if i is not None)
                    else:
                        objs.append(d)
    return objs


def expected_paths(paths):
    """An `input` directory with a sibling `expected` directory is replaced by the latter."""
    out = []
    for p in paths:
        p = os.path.normpath(p)
        sib = os.path.join(os.path.dirname(p), "expected")
        if os.path.isdir(p) and os.path.basename(p) == "input" and os.path.isdir(sib):
            out.append(sib)
        else:
            out.append(p)
    return out


# ---- identity ---------------------------------------------------------------------------------

def group_of(obj):
    av = obj.get("apiVersion")
    av = av if isinstance(av, str) else ""
    return av.split("/", 1)[0] if "/" in av else ""


def meta(obj):
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def kind_of(obj):
    k = obj.get("kind")
    return k if isinstance(k, str) else "?"


def cluster_scoped_kinds(objs):
    """Built-in cluster-scoped kinds plus the custom kinds whose CRD says scope: Cluster."""
    kinds = set(CLUSTER_SCOPED)
    for o in objs:
        if isinstance(o, dict) and o.get("kind") == "CustomResourceDefinition":
            spec = o.get("spec") or {}
            if spec.get("scope") == "Cluster":
                k = (spec.get("names") or {}).get("kind")
                if k:
                    kinds.add(k)
    return kinds


def key_of(obj, release_ns, cluster_kinds):
    m = meta(obj)
    ns = m.get("namespace")
    if ns is None and kind_of(obj) not in cluster_kinds:
        ns = release_ns
    return (group_of(obj), kind_of(obj), ns or "", str(m.get("name")))


def describe(key):
    g, k, ns, name = key
    return "%s %s%s" % (k, ns + "/" if ns else "", name)


# ---- live objects -----------------------------------------------------------------------------

def is_live(obj):
    m = meta(obj)
    return "status" in obj or any(k in m for k in ("uid", "resourceVersion", "managedFields", "creationTimestamp"))


def owner_managed(obj, service_keys):
    """Objects a cluster makes by itself, which the engine drops from live input."""
    k, m = kind_of(obj), meta(obj)
    refs = [r for r in (m.get("ownerReferences") or []) if isinstance(r, dict)]
    if k in OWNER_MANAGED and any(r.get("controller") is True for r in refs):
        return True
    if k == "Job" and any(r.get("kind") == "CronJob" for r in refs):
        return True
    if k == "Endpoints" and (m.get("namespace"), m.get("name")) in service_keys:
        return True
    if k == "Event" or (k == "ConfigMap" and m.get("name") == "kube-root-ca.crt"):
        return True
    return k == "Secret" and obj.get("type") == "kubernetes.io/service-account-token"


def strip_runtime(obj):
    obj.pop("status", None)
    m = meta(obj)
    for k in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"):
        m.pop(k, None)
    ann = m.get("annotations")
    if isinstance(ann, dict):
        ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        ann.pop("deployment.kubernetes.io/revision", None)
        if not ann:
            m.pop("annotations")
    if kind_of(obj) == "Service" and isinstance(obj.get("spec"), dict):
        spec = obj["spec"]
        if spec.get("clusterIP") != "None":  # headless is meaningful
            spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        # API-server defaults a live Service carries (DESIGN.md: "API-server defaults where they
        # are known defaults"), removed only when they hold the default value.
        for k, default in SERVICE_LIVE_DEFAULTS.items():
            if spec.get(k) == default:
                spec.pop(k)
        if isinstance(spec.get("ipFamilies"), list) and len(spec["ipFamilies"]) == 1:
            spec.pop("ipFamilies")
    return obj


SERVICE_LIVE_DEFAULTS = {"sessionAffinity": "None", "ipFamilyPolicy": "SingleStack",
                         "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster",
                         "allocateLoadBalancerNodePorts": True}


# ---- comparison -------------------------------------------------------------------------------

def tname(v):
    if v is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", dict: "map", list: "list",
            bytes: "binary", TextInt: "int", TextFloat: "float"}.get(type(v), type(v).__name__)


def show(v):
    if isinstance(v, (dict, list)):
        r = repr(v)
        return "%s %s" % (tname(v), r if len(r) <= 80 else r[:77] + "...")
    if isinstance(v, str) and len(v) > 80:
        return "str %r..." % v[:77]
    return "%s %r" % (tname(v), v)


def join(path, k):
    if isinstance(k, int):
        return "%s[%d]" % (path, k)
    if isinstance(k, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", k):
        return "%s.%s" % (path, k) if path else k
    return "%s[%r]" % (path, k)


def same_scalar(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (TextInt, TextFloat)):
        return a.text == b.text
    return a == b


def diff(exp, got, path, out):
    if isinstance(exp, dict) and isinstance(got, dict):
        for k in exp:
            if k not in got:
                out.append("%s: missing in output (expected %s)" % (join(path, k), show(exp[k])))
            else:
                diff(exp[k], got[k], join(path, k), out)
        for k in got:
            if k not in exp:
                out.append("%s: not in input, output has %s" % (join(path, k), show(got[k])))
        # key types matter too (e.g. int key 80 vs str key '80' are different keys above)
        return
    if isinstance(exp, list) and isinstance(got, list):
        if len(exp) != len(got):
            out.append("%s: list length %d != %d" % (path, len(exp), len(got)))
        for i in range(min(len(exp), len(got))):
            diff(exp[i], got[i], join(path, i), out)
        return
    if not same_scalar(exp, got):
        out.append("%s: %s != %s" % (path or "<object>", show(exp), show(got)))


def apply_allowed(exp, got, release_ns, cluster_kinds):
    """Returns a copy of `got` with exactly the allowed differences taken out."""
    import copy
    got = copy.deepcopy(got)
    gm, em = meta(got), meta(exp)
    # 1. chart labels on top-level metadata.labels, only when the input lacks them
    glabels = gm.get("labels")
    if isinstance(glabels, dict):
        elabels = em.get("labels") if isinstance(em.get("labels"), dict) else None
        for k in list(glabels):
            if k in CHART_LABELS and (elabels is None or k not in elabels):
                del glabels[k]
        if not glabels and "labels" not in em:
            del gm["labels"]
    # 2. checksum/* annotations on the pod template
    path = POD_TEMPLATE_PATHS.get(kind_of(got))
    if path:
        gt, et = got, exp
        for p in path:
            gt = gt.get(p) if isinstance(gt, dict) else None
            et = et.get(p) if isinstance(et, dict) else None
        if isinstance(gt, dict) and isinstance(gt.get("metadata"), dict):
            gtm = gt["metadata"]
            etm = et.get("metadata") if isinstance(et, dict) and isinstance(et.get("metadata"), dict) else None
            eann = etm.get("annotations") if etm is not None and isinstance(etm.get("annotations"), dict) else None
            gann = gtm.get("annotations")
            if isinstance(gann, dict):
                for k in list(gann):
                    if k.startswith("checksum/") and (eann is None or k not in eann):
                        del gann[k]
                if not gann and eann is None:
                    del gtm["annotations"]
            if not gtm and etm is None:
                del gt["metadata"]
    # namespace: an input object written without one is installed in the release namespace
    if "namespace" not in em and gm.get("namespace") == release_ns and kind_of(exp) not in cluster_kinds:
        del gm["namespace"]
    return got


def compare(expected, rendered, release_ns):
    """Returns (number of objects compared, list of difference lines)."""
    problems = []
    cluster_kinds = cluster_scoped_kinds(expected + rendered)
    exp_map = collections.OrderedDict()
    services = {(meta(o).get("namespace"), meta(o).get("name")) for o in expected
                if isinstance(o, dict) and kind_of(o) == "Service"}
    for o in expected:
        if not isinstance(o, dict):
            problems.append("input: a document is not a mapping: %s" % show(o))
            continue
        if is_live(o):
            if owner_managed(o, services):
                continue
            strip_runtime(o)
        k = key_of(o, release_ns, cluster_kinds)
        if k in exp_map:
            problems.append("%s: appears twice in the input" % describe(k))
        exp_map[k] = o
    got_map = collections.OrderedDict()
    for o in rendered:
        if not isinstance(o, dict):
            problems.append("output: a document is not a mapping: %s" % show(o))
            continue
        k = key_of(o, release_ns, cluster_kinds)
        if k in got_map:
            problems.append("%s: rendered twice" % describe(k))
        got_map[k] = o
    for k, e in exp_map.items():
        if k not in got_map:
            problems.append("%s: missing from the helm template output" % describe(k))
            continue
        lines = []
        diff(e, apply_allowed(e, got_map[k], release_ns, cluster_kinds), "", lines)
        problems.extend("%s: %s" % (describe(k), line) for line in lines)
    for k in got_map:
        if k not in exp_map:
            problems.append("%s: in the helm template output but not in the input" % describe(k))
    return len(exp_map), problems


def most_common_namespace(objs):
    c = collections.Counter(meta(o).get("namespace") for o in objs if isinstance(o, dict))
    c.pop(None, None)
    if not c:
        return "default"
    best = max(c.values())
    return sorted(ns for ns, n in c.items() if n == best)[0]


# ---- self test --------------------------------------------------------------------------------

def self_test():
    y = lambda s: load_docs(s, "<self-test>")
    base = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: [{name: A, value: "yes"}, {name: B, value: yes}, {name: C, value: "1.10"}]
"""
    checks = []

    def expect(name, got_text, ok, needle=None, exp_text=base, ns="shop"):
        n, probs = compare(y(exp_text), y(got_text), ns)
        passed = (not probs) if ok else (bool(probs) and (needle is None or any(needle in p for p in probs)))
        checks.append((name, passed, probs))

    # typing
    t = y("a: yes\nb: on\nc: 0o17\nd: 0x1F\ne: 0755\nf: 1.10\ng: ~\nh:\ni: True\nj: 2001-12-14\nk: 1e3\nl: 12345678901234567890\n")[0]
    checks.append(("core schema", isinstance(t["e"], TextInt) and t["e"].text == "0755" and
                   {k: int(v) if isinstance(v, TextInt) else float(v) if isinstance(v, TextFloat) else v
                    for k, v in t.items()} == {"a": "yes", "b": "on", "c": 15, "d": 31, "e": 755, "f": 1.1, "g": None,
                                          "h": None, "i": True, "j": "2001-12-14", "k": 1000.0,
                                          "l": 12345678901234567890} and isinstance(t["k"], TextFloat), t))
    expect("identical", base, True)
    expect("octal-looking int keeps its text", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 420\n",
           False, "x: int 0644 != int 420", exp_text="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 0644\n")
    expect("1e3 keeps its text (a string for YAML 1.1 readers)",
           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 1000.0\n", False,
           "x: float 1e3 != float 1000.0",
           exp_text="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 1e3\n")
    expect("0.50 equals 0.5", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 0.5\n", True,
           exp_text="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 0.50\n")
    expect("octal-looking int equal text", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 0644\n",
           True, exp_text="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\nx: 0644\n")
    expect("int vs str", base.replace("containerPort: 80", 'containerPort: "80"'), False,
           "spec.template.spec.containers[0].ports[0].containerPort: int 80 != str '80'")
    expect("bool vs int", base.replace("replicas: 2", "replicas: true"), False, "spec.replicas: int 2 != bool True")
    expect("float vs str", base.replace('value: "1.10"', "value: 1.10"), False, "str '1.10' != float 1.1")
    expect("quoted yes equals plain yes", base.replace('value: "yes"', "value: yes"), True)
    expect("chart labels allowed", base.replace("labels: {app: web}}", "labels: {app: web, helm.sh/chart: web-0.1.0, "
                                                  "app.kubernetes.io/managed-by: Helm}}", 1), True)
    expect("other label not allowed", base.replace("labels: {app: web}}", "labels: {app: web, team: x}}", 1), False,
           "metadata.labels.team")
    expect("chart label on pod template not allowed",
           base.replace("metadata: {labels: {app: web}}", "metadata: {labels: {app: web, helm.sh/chart: x}}"), False,
           "spec.template.metadata.labels")
    expect("checksum annotation allowed",
           base.replace("metadata: {labels: {app: web}}", "metadata: {labels: {app: web}, annotations: {checksum/config: abc}}"), True)
    expect("other pod annotation not allowed",
           base.replace("metadata: {labels: {app: web}}", "metadata: {labels: {app: web}, annotations: {x: y}}"), False,
           "annotations")
    expect("checksum on top-level not allowed",
           base.replace("labels: {app: web}}", "labels: {app: web}, annotations: {checksum/config: abc}}", 1), False,
           "metadata.annotations")
    expect("missing object", base + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n",
           False, "Service shop/web: in the helm template output but not in the input")
    expect("extra object", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n", False,
           "Deployment shop/web: missing from the helm template output")
    expect("list order", base.replace('{name: A, value: "yes"}, {name: B, value: yes}', '{name: B, value: yes}, {name: A, value: "yes"}'),
           False, "env[0].name")
    expect("api group matters", base.replace("apps/v1", "extensions/v1beta1"), False, "missing from the helm template output")
    expect("release namespace for objects without one",
           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n", True,
           exp_text="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    expect("cluster-scoped object must not get a namespace",
           "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: c, namespace: shop}\n", False,
           exp_text="apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: c}\n")
    expect("live object stripped",
           "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec: {ports: [{port: 80}]}\n", True,
           exp_text="apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop, uid: u1, resourceVersion: '5',"
                    " annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}'}}\nspec: {clusterIP: 10.0.0.1,"
                    " ports: [{port: 80}]}\nstatus: {loadBalancer: {}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p,"
                    " namespace: shop, uid: u2, ownerReferences: [{kind: ReplicaSet, name: r, controller: true}]}\n")
    bad = [c for c in checks if not c[1]]
    for name, ok, probs in checks:
        print("%s self-test: %s" % ("ok" if ok else "FAIL", name))
        if not ok:
            print("    got: %r" % (probs,))
    return 1 if bad else 0


# ---- main -------------------------------------------------------------------------------------

def main(argv):
    if "--self-test" in argv:
        return self_test()
    if argv[:1] == ["--namespace-of"]:
        print(most_common_namespace(load_objects(argv[1:])))
        return 0
    inputs, rendered, ns, case = [], None, None, "case"
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--input", "--rendered", "--namespace", "--case") and i + 1 < len(argv):
            v = argv[i + 1]
            i += 2
            if a == "--input":
                inputs.append(v)
            elif a == "--rendered":
                rendered = v
            elif a == "--namespace":
                ns = v
            else:
                case = v
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not inputs or not rendered or not ns:
        print(__doc__, file=sys.stderr)
        return 2
    exp_paths = expected_paths(inputs)
    expected = load_objects(exp_paths)
    with open(rendered, encoding="utf-8") as fh:
        got = load_docs(fh.read(), rendered)
    n, problems = compare(expected, got, ns)
    src = ", ".join(exp_paths)
    if problems:
        print("FAIL %s: %d difference(s) against %s:" % (case, len(problems), src))
        for p in problems:
            print("  " + p)
        return 1
    print("ok %s: %d objects identical to %s" % (case, n, src))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
