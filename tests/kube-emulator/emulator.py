#!/usr/bin/python3
"""Kubernetes API server emulator for dhg-operator tests (Python 3 standard library only).

See README.md next to this file for the start options, the control endpoint and the fidelity
notes. Binds to 127.0.0.1 only.
"""

import argparse
import base64
import collections
import datetime
import http.server
import json
import os
import random
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import patches  # noqa: E402
import schema as crdschema  # noqa: E402

try:  # optional: YAML bodies for apply patches; JSON (what kubectl sends) works without it
    import yaml  # type: ignore
except ImportError:  # pragma: no cover
    yaml = None

MAX_BODY = 16 * 1024 * 1024
REQ = threading.local()       # per-request state: REQ.warnings (sent as Warning headers)
SERVER_VERSION = "v1.32.0"
STD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def human_age(ts):
    t = parse_ts(ts)
    if t is None:
        return "<unknown>"
    secs = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        secs = 0
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return "%ds" % secs
    if mins < 10:
        s = secs % 60
        return "%dm%ds" % (mins, s) if s else "%dm" % mins
    if mins < 180:
        return "%dm" % mins
    if hours < 8:
        m = mins % 60
        return "%dh%dm" % (hours, m) if m else "%dh" % hours
    if hours < 48:
        return "%dh" % hours
    if hours < 192:
        h = hours % 24
        return "%dd%dh" % (days, h) if h else "%dd" % days
    if days < 730:
        return "%dd" % days
    return "%dy" % (days // 365)


def dumps(o):
    return json.dumps(o, separators=(",", ":"))


def clone(o):
    return json.loads(json.dumps(o))


# --------------------------------------------------------------------------- errors

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            st["details"] = self.details
        if not self.reason:
            del st["reason"]
        return st


REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def qualified(res):
    return res.plural + ("." + res.group if res.group else "")


def err_notfound(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(res), name), d)


def err_ns_notfound(ns):
    return ApiError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})


def err_invalid(res, name, field, msg, reason="FieldValueInvalid"):
    kind = res.kind + ("." + res.group if res.group else "")
    d = {"name": name, "kind": res.kind, "causes": [{"reason": reason, "message": msg, "field": field}]}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s: %s' % (kind, name, field, msg), d)


def err_invalid_multi(res, name, errs):
    kind = res.kind + ("." + res.group if res.group else "")
    parts = ["%s: %s" % (f, m) for f, _, m in errs]
    d = {"name": name, "kind": res.kind,
         "causes": [{"reason": rsn, "message": m, "field": f} for f, rsn, m in errs]}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (
        kind, name, parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"), d)


def default_manager():
    """Like kube-apiserver: the field manager defaults to the User-Agent's first word."""
    ua = getattr(REQ, "user_agent", "") or ""
    return ua.split("/")[0].strip() or "unknown"


def warn(msg):
    w = getattr(REQ, "warnings", None)
    if w is not None and msg not in w:
        w.append(msg)


def err_conflict(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                    'modified; please apply your changes to the latest version and try again'
                    % (qualified(res), name), d)


def err_bad(msg):
    return ApiError(400, "BadRequest", msg)


# kinds whose registry returns the deleted object (others answer a Success Status)
RETURN_DELETED = {("", "pods"), ("", "services"), ("", "namespaces")}

NOT_FOUND_PATH = ApiError(404, "NotFound", "the server could not find the requested resource", {})


# --------------------------------------------------------------------------- selectors

KEY_RE = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
VAL_RE = r"[-A-Za-z0-9_.]*"


def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    for p in split_top(s):
        m = re.fullmatch(r"(%s)\s+(in|notin)\s*\(([^)]*)\)" % KEY_RE, p)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            for v in vals:
                if not re.fullmatch(VAL_RE, v):
                    raise err_bad("unable to parse requirement: invalid label value: %r" % v)
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.fullmatch(r"(%s)\s*(==|=|!=)\s*(%s)" % (KEY_RE, VAL_RE), p)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, [m.group(3)]))
            continue
        m = re.fullmatch(r"(%s)\s*(<|>)\s*(-?\d+)" % KEY_RE, p)
        if m:
            reqs.append((m.group(1), m.group(2), [m.group(3)]))
            continue
        m = re.fullmatch(r"(!?)\s*(%s)" % KEY_RE, p)
        if m:
            reqs.append((m.group(2), "!" if m.group(1) else "exists", []))
            continue
        raise err_bad("unable to parse requirement: %r: found unexpected token" % p)
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v == vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op in ("<", ">"):
            try:
                iv = int(v)
            except (TypeError, ValueError):
                return False
            if op == "<" and not iv < int(vals[0]):
                return False
            if op == ">" and not iv > int(vals[0]):
                return False
    return True


def parse_field_selector(s):
    reqs = []
    if not s:
        return reqs
    for p in split_top(s):
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)", p)
        if not m:
            raise err_bad("invalid field selector: %r" % p)
        reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return ""
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def fields_match(reqs, obj):
    for path, op, val in reqs:
        v = field_value(obj, path)
        if (op == "=") != (v == val):
            return False
    return True


# --------------------------------------------------------------------------- simple JSONPath

def jsonpath(obj, path):
    """Evaluates the JSONPath subset used by printer columns: .a.b, [n], [*], [?(@.k=="v")]."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    toks = re.findall(r"\.((?:\\\.|[^.\[])+)|\[([^\]]*)\]", path)
    cur = [obj]
    for name, idx in toks:
        nxt = []
        for c in cur:
            if name:
                key = name.replace("\\.", ".")
                if isinstance(c, dict) and key in c:
                    nxt.append(c[key])
            elif isinstance(c, list):
                if idx == "*":
                    nxt.extend(c)
                elif idx.startswith("?("):
                    m = re.fullmatch(r"\?\(@\.([\w.]+)\s*==\s*[\"']([^\"']*)[\"']\)", idx)
                    if m:
                        nxt.extend(x for x in c if isinstance(x, dict)
                                   and field_value(x, m.group(1)) == m.group(2))
                else:
                    try:
                        nxt.append(c[int(idx)])
                    except (ValueError, IndexError):
                        pass
        cur = nxt
    return cur


# --------------------------------------------------------------------------- resources

class Res:
    """One API resource (group, plural) served under one or more versions."""

    def __init__(self, group, versions, kind, plural, namespaced=True, short=(), cats=(),
                 status=False, scale=False, generation=False, singular=None, crd=None,
                 columns=None, scale_paths=None, view_of=None):
        self.group, self.versions, self.kind, self.plural = group, list(versions), kind, plural
        self.namespaced, self.short, self.cats = namespaced, list(short), list(cats)
        self.status, self.scale, self.generation = status, scale, generation
        self.singular = singular or kind.lower()
        self.crd = crd                      # CRD name for custom resources
        self.columns = columns              # per-version printer columns for CRs
        self.scale_paths = scale_paths or {"spec": ".spec.replicas", "status": ".status.replicas",
                                           "selector": None}
        self.key = (group, plural)
        self.view_of = view_of              # (group, plural) of the resource that stores the objects

    def api_version(self, version=None):
        v = version or self.versions[0]
        return v if not self.group else "%s/%s" % (self.group, v)


def builtin_resources():
    R = Res
    sc = {"spec": ".spec.replicas", "status": ".status.replicas", "selector": ".spec.selector"}
    return [
        R("", ["v1"], "Namespace", "namespaces", namespaced=False, short=["ns"], status=True),
        R("", ["v1"], "ConfigMap", "configmaps", short=["cm"]),
        R("", ["v1"], "Secret", "secrets"),
        R("", ["v1"], "Service", "services", short=["svc"], cats=["all"], status=True),
        R("", ["v1"], "ServiceAccount", "serviceaccounts", short=["sa"]),
        R("", ["v1"], "Pod", "pods", short=["po"], cats=["all"], status=True),
        R("", ["v1"], "Endpoints", "endpoints", short=["ep"], singular="endpoints"),
        R("", ["v1"], "Event", "events", short=["ev"]),
        R("", ["v1"], "PersistentVolumeClaim", "persistentvolumeclaims", short=["pvc"], status=True),
        R("", ["v1"], "PersistentVolume", "persistentvolumes", namespaced=False, short=["pv"], status=True),
        R("", ["v1"], "Node", "nodes", namespaced=False, short=["no"], status=True),
        R("", ["v1"], "ReplicationController", "replicationcontrollers", short=["rc"], cats=["all"],
          status=True, scale=True, generation=True, scale_paths={"spec": ".spec.replicas", "status": ".status.replicas",
                                                                 "selector": ".spec.selector"}),
        R("", ["v1"], "ResourceQuota", "resourcequotas", short=["quota"], status=True),
        R("", ["v1"], "LimitRange", "limitranges", short=["limits"]),
        R("apps", ["v1"], "ControllerRevision", "controllerrevisions"),
        R("discovery.k8s.io", ["v1"], "EndpointSlice", "endpointslices"),
        R("networking.k8s.io", ["v1"], "IngressClass", "ingressclasses", namespaced=False),
        R("storage.k8s.io", ["v1"], "StorageClass", "storageclasses", namespaced=False, short=["sc"]),
        R("scheduling.k8s.io", ["v1"], "PriorityClass", "priorityclasses", namespaced=False, short=["pc"]),
        R("admissionregistration.k8s.io", ["v1"], "MutatingWebhookConfiguration",
          "mutatingwebhookconfigurations", namespaced=False, generation=True),
        R("admissionregistration.k8s.io", ["v1"], "ValidatingWebhookConfiguration",
          "validatingwebhookconfigurations", namespaced=False, generation=True),
        R("apps", ["v1"], "Deployment", "deployments", short=["deploy"], cats=["all"], status=True,
          scale=True, generation=True, scale_paths=sc),
        R("apps", ["v1"], "StatefulSet", "statefulsets", short=["sts"], cats=["all"], status=True,
          scale=True, generation=True, scale_paths=sc),
        R("apps", ["v1"], "DaemonSet", "daemonsets", short=["ds"], cats=["all"], status=True,
          generation=True),
        R("apps", ["v1"], "ReplicaSet", "replicasets", short=["rs"], cats=["all"], status=True,
          scale=True, generation=True, scale_paths=sc),
        R("batch", ["v1"], "Job", "jobs", cats=["all"], status=True, generation=True),
        R("batch", ["v1"], "CronJob", "cronjobs", short=["cj"], cats=["all"], status=True,
          generation=True),
        R("networking.k8s.io", ["v1"], "Ingress", "ingresses", short=["ing"], status=True,
          generation=True),
        R("networking.k8s.io", ["v1"], "NetworkPolicy", "networkpolicies", short=["netpol"],
          generation=True),
        R("autoscaling", ["v2"], "HorizontalPodAutoscaler", "horizontalpodautoscalers",
          short=["hpa"], cats=["all"], status=True, generation=True),
        R("policy", ["v1"], "PodDisruptionBudget", "poddisruptionbudgets", short=["pdb"],
          status=True, generation=True),
        R("rbac.authorization.k8s.io", ["v1"], "Role", "roles"),
        R("rbac.authorization.k8s.io", ["v1"], "ClusterRole", "clusterroles", namespaced=False),
        R("rbac.authorization.k8s.io", ["v1"], "RoleBinding", "rolebindings"),
        R("rbac.authorization.k8s.io", ["v1"], "ClusterRoleBinding", "clusterrolebindings",
          namespaced=False),
        R("coordination.k8s.io", ["v1"], "Lease", "leases"),
        R("events.k8s.io", ["v1"], "Event", "events", view_of=("", "events")),
        R("apiextensions.k8s.io", ["v1"], "CustomResourceDefinition", "customresourcedefinitions",
          namespaced=False, short=["crd", "crds"], cats=["api-extensions"], status=True,
          generation=True),
    ]


VERSION_RE = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(v):
    """Kubernetes version ordering: GA > beta > alpha > other, higher numbers first."""
    m = VERSION_RE.match(v)
    if not m:
        return (3, 0, 0, v)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, v)


# --------------------------------------------------------------------------- the store

Event = collections.namedtuple("Event", "rv key ns type obj old")


class Store:
    def __init__(self, history):
        self.cond = threading.Condition(threading.RLock())
        self.rv = 0
        self.res = {}                 # (group, plural) -> Res
        self.objs = {}                # (group, plural) -> {(ns, name): obj}
        self.history = collections.deque()
        self.history_max = max(1, history)
        self.compacted = 0            # events with rv <= compacted may be missing
        self.applied = {}             # (key, ns, name, manager) -> last applied config
        self.epoch = 0                # bumped by drop-watches
        self.compactions = 0          # explicit compactions (continue tokens from before expire)
        for r in builtin_resources():
            self.add_res(r)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.put_raw(self.res[("", "namespaces")], {
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        self.compacted = self.rv

    def add_res(self, r):
        self.res[r.key] = r
        self.objs.setdefault(r.key, {})

    # resolution --------------------------------------------------------------
    def lookup(self, group, version, plural):
        r = self.res.get((group, plural))
        if r is None or version not in r.versions:
            return None
        return r

    def groups(self):
        """{group: [versions sorted by priority]} for non-core groups."""
        g = collections.OrderedDict()
        for r in self.res.values():
            if r.group:
                for v in r.versions:
                    g.setdefault(r.group, set()).add(v)
        return collections.OrderedDict((k, sorted(v, key=version_priority)) for k, v in g.items())

    # raw writes (caller holds the lock) -------------------------------------
    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def put_raw(self, r, obj):
        md = obj.setdefault("metadata", {})
        md.setdefault("uid", str(uuid.uuid4()))
        md.setdefault("creationTimestamp", now_ts())
        md["resourceVersion"] = self.next_rv()
        if r.generation or r.crd:
            md.setdefault("generation", 1)
        self.objs[r.key][(md.get("namespace", ""), md["name"])] = obj
        return obj

    def record(self, r, etype, obj, old=None):
        ev = Event(int(obj["metadata"]["resourceVersion"]), r.key,
                   obj["metadata"].get("namespace", ""), etype, obj, old)
        self.history.append(ev)
        while len(self.history) > self.history_max:
            self.compacted = self.history.popleft().rv
        self.cond.notify_all()

    def compact(self):
        with self.cond:
            self.history.clear()
            self.compacted = self.rv
            self.compactions += 1
            self.cond.notify_all()


# --------------------------------------------------------------------------- tables

def _containers(o):
    return ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []


def _pod_ready(o):
    cs = (o.get("status") or {}).get("containerStatuses") or []
    n = len((o.get("spec") or {}).get("containers") or [])
    return "%d/%d" % (sum(1 for c in cs if c.get("ready")), n)


def _svc_ports(o):
    ps = (o.get("spec") or {}).get("ports") or []
    out = []
    for p in ps:
        s = str(p.get("port", ""))
        if p.get("nodePort"):
            s += ":%s" % p["nodePort"]
        out.append("%s/%s" % (s, p.get("protocol", "TCP")))
    return ",".join(out) or "<none>"


def _g(o, *path, default=None):
    cur = o
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return default
        cur = cur[p]
    return cur


def _selector_str(sel):
    if not isinstance(sel, dict):
        return "<none>"
    ml = sel.get("matchLabels", sel) if "matchLabels" in sel or "matchExpressions" in sel else sel
    parts = ["%s=%s" % (k, v) for k, v in sorted((ml or {}).items()) if isinstance(v, str)]
    return ",".join(parts) or "<none>"


def _cond_status(o, ctype):
    for c in _g(o, "status", "conditions", default=[]) or []:
        if c.get("type") == ctype:
            return c.get("status", "")
    return ""


# (group, plural) -> [(name, type, function)]; NAME first and AGE last are added automatically
BUILTIN_COLUMNS = {
    ("", "namespaces"): [("Status", "string", lambda o: _g(o, "status", "phase", default="Active"))],
    ("", "configmaps"): [("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    ("", "secrets"): [("Type", "string", lambda o: o.get("type", "Opaque")),
                      ("Data", "integer", lambda o: len(o.get("data") or {}))],
    ("", "services"): [("Type", "string", lambda o: _g(o, "spec", "type", default="ClusterIP")),
                       ("Cluster-IP", "string", lambda o: _g(o, "spec", "clusterIP", default="<none>")),
                       ("External-IP", "string", lambda o: ",".join(_g(o, "spec", "externalIPs", default=[]) or []) or "<none>"),
                       ("Port(s)", "string", _svc_ports),
                       ("Selector", "string", lambda o: _selector_str(_g(o, "spec", "selector")), 1)],
    ("", "serviceaccounts"): [("Secrets", "integer", lambda o: len(o.get("secrets") or []))],
    ("", "pods"): [("Ready", "string", _pod_ready),
                   ("Status", "string", lambda o: _g(o, "status", "phase", default="Pending")),
                   ("Restarts", "integer", lambda o: sum(c.get("restartCount", 0) for c in _g(o, "status", "containerStatuses", default=[]) or [])),
                   ("IP", "string", lambda o: _g(o, "status", "podIP", default="<none>"), 1),
                   ("Node", "string", lambda o: _g(o, "spec", "nodeName", default="<none>"), 1)],
    ("", "persistentvolumeclaims"): [("Status", "string", lambda o: _g(o, "status", "phase", default="Pending"))],
    ("apps", "deployments"): [("Ready", "string", lambda o: "%d/%d" % (_g(o, "status", "readyReplicas", default=0), _g(o, "spec", "replicas", default=1))),
                              ("Up-to-date", "integer", lambda o: _g(o, "status", "updatedReplicas", default=0)),
                              ("Available", "integer", lambda o: _g(o, "status", "availableReplicas", default=0)),
                              ("Containers", "string", lambda o: ",".join(c.get("name", "") for c in _containers(o)), 1),
                              ("Images", "string", lambda o: ",".join(c.get("image", "") for c in _containers(o)), 1),
                              ("Selector", "string", lambda o: _selector_str(_g(o, "spec", "selector")), 1)],
    ("apps", "statefulsets"): [("Ready", "string", lambda o: "%d/%d" % (_g(o, "status", "readyReplicas", default=0), _g(o, "spec", "replicas", default=1)))],
    ("apps", "replicasets"): [("Desired", "integer", lambda o: _g(o, "spec", "replicas", default=1)),
                              ("Current", "integer", lambda o: _g(o, "status", "replicas", default=0)),
                              ("Ready", "integer", lambda o: _g(o, "status", "readyReplicas", default=0))],
    ("apps", "daemonsets"): [("Desired", "integer", lambda o: _g(o, "status", "desiredNumberScheduled", default=0)),
                             ("Current", "integer", lambda o: _g(o, "status", "currentNumberScheduled", default=0)),
                             ("Ready", "integer", lambda o: _g(o, "status", "numberReady", default=0))],
    ("batch", "jobs"): [("Status", "string", lambda o: "Complete" if _cond_status(o, "Complete") == "True" else ("Failed" if _cond_status(o, "Failed") == "True" else "Running")),
                        ("Completions", "string", lambda o: "%d/%d" % (_g(o, "status", "succeeded", default=0), _g(o, "spec", "completions", default=1)))],
    ("batch", "cronjobs"): [("Schedule", "string", lambda o: _g(o, "spec", "schedule", default="")),
                            ("Suspend", "string", lambda o: str(bool(_g(o, "spec", "suspend", default=False))))],
    ("networking.k8s.io", "ingresses"): [("Class", "string", lambda o: _g(o, "spec", "ingressClassName", default="<none>")),
                                         ("Hosts", "string", lambda o: ",".join(r.get("host", "*") for r in _g(o, "spec", "rules", default=[]) or []) or "*")],
    ("autoscaling", "horizontalpodautoscalers"): [
        ("Reference", "string", lambda o: "%s/%s" % (_g(o, "spec", "scaleTargetRef", "kind", default=""), _g(o, "spec", "scaleTargetRef", "name", default=""))),
        ("MinPods", "integer", lambda o: _g(o, "spec", "minReplicas", default=1)),
        ("MaxPods", "integer", lambda o: _g(o, "spec", "maxReplicas", default=0)),
        ("Replicas", "integer", lambda o: _g(o, "status", "currentReplicas", default=0))],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [],
    ("coordination.k8s.io", "leases"): [("Holder", "string", lambda o: _g(o, "spec", "holderIdentity", default=""))],
}


def crd_columns(r, version):
    cols = (r.columns or {}).get(version) or []
    out = []
    for c in cols:
        typ = c.get("type", "string")
        path = c.get("jsonPath", "")

        def fn(o, path=path, typ=typ):
            vals = jsonpath(o, path)
            if not vals:
                return None
            v = vals[0]
            if typ == "date":
                return human_age(v) if isinstance(v, str) else None
            if isinstance(v, (dict, list)):
                return dumps(v)
            if typ == "string" and not isinstance(v, str):
                return dumps(v) if not isinstance(v, bool) else ("true" if v else "false")
            return v
        out.append((c.get("name", ""), "string" if typ == "date" else typ, fn,
                    c.get("description", ""), c.get("priority", 0)))
    return out


def table_columns(r, version):
    if r.crd:
        cols = crd_columns(r, version)
        defs = [{"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}]
        fns = [lambda o: o["metadata"]["name"]]
        for name, typ, fn, desc, prio in cols:
            defs.append({"name": name, "type": typ, "format": "", "description": desc, "priority": prio})
            fns.append(fn)
        if not any(c[0].lower() == "age" for c in cols):
            defs.append({"name": "Age", "type": "date", "format": "", "description": "CreationTimestamp", "priority": 0})
            fns.append(lambda o: human_age(o["metadata"].get("creationTimestamp")))
        return defs, fns
    defs = [{"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}]
    fns = [lambda o: o["metadata"]["name"]]
    cols = BUILTIN_COLUMNS.get(r.key, [])
    for name, typ, fn, *prio in [c for c in cols if len(c) == 3]:
        defs.append({"name": name, "type": typ, "format": "", "description": name, "priority": 0})
        fns.append(fn)
    defs.append({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0})
    fns.append(lambda o: human_age(o["metadata"].get("creationTimestamp")))
    for name, typ, fn, prio in [c for c in cols if len(c) == 4]:   # -o wide columns, after AGE
        defs.append({"name": name, "type": typ, "format": "", "description": name, "priority": prio})
        fns.append(fn)
    return defs, fns


def table_row(fns, obj, include):
    cells = []
    for f in fns:
        try:
            cells.append(f(obj))
        except Exception:  # a malformed object must not break listing
            cells.append(None)
    row = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj["metadata"]}
    return row


# --------------------------------------------------------------------------- API semantics

NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def spec_part(o):
    return {k: v for k, v in o.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def strip_rv(o):
    md = dict(o.get("metadata") or {})
    md.pop("resourceVersion", None)
    md.pop("managedFields", None)
    c = dict(o)
    c["metadata"] = md
    return c


class Api:
    """All API operations. Every public method takes the store lock itself."""

    def __init__(self, store, args):
        self.s = store
        self.args = args
        self.owners = collections.defaultdict(set)   # owner uid -> {(key, ns, name)}
        self.fg_pending = {}                          # owner uid -> (res, obj) in foreground deletion
        self.ip_next = 1

    # storage helpers (lock held) -------------------------------------------
    def _index(self, r, obj, add):
        for ref in obj["metadata"].get("ownerReferences") or []:
            uid = ref.get("uid")
            if not uid:
                continue
            k = (r.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if add:
                self.owners[uid].add(k)
            else:
                self.owners[uid].discard(k)
                if not self.owners[uid]:
                    del self.owners[uid]

    def _store(self, r, obj, old, etype):
        obj["metadata"]["resourceVersion"] = self.s.next_rv()
        if old is not None:
            self._index(r, old, False)
        self.s.objs[r.key][(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
        self._index(r, obj, True)
        self.s.record(r, etype, obj, old)
        if self.args.controllers and not obj["metadata"].get("deletionTimestamp"):
            st = self._controller_status(r, obj)
            if st is not None:
                new = dict(obj)
                new["status"] = st
                new["metadata"] = dict(obj["metadata"])
                return self._store(r, new, obj, "MODIFIED")
        return obj

    def _controller_status(self, r, obj):
        """--controllers: the status a real controller would converge to, or None when the
        object is already there (workloads become ready at once, pods run, jobs complete)."""
        gen = obj["metadata"].get("generation", 1)
        status = obj.get("status") or {}
        t = now_ts()
        if r.key in (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "replicasets")):
            if status.get("observedGeneration") == gen:
                return None
            n = (obj.get("spec") or {}).get("replicas", 1)
            st = {"observedGeneration": gen, "replicas": n, "readyReplicas": n, "availableReplicas": n,
                  "updatedReplicas": n}
            if r.key == ("apps", "deployments"):
                st["conditions"] = [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability.", "lastUpdateTime": t, "lastTransitionTime": t},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": 'ReplicaSet "%s" has successfully progressed.' % obj["metadata"]["name"],
                     "lastUpdateTime": t, "lastTransitionTime": t}]
            elif r.key == ("apps", "statefulsets"):
                rev = "%s-%d" % (obj["metadata"]["name"], gen)
                st.update({"currentReplicas": n, "currentRevision": rev, "updateRevision": rev,
                           "collisionCount": 0})
            else:
                st["fullyLabeledReplicas"] = n
            return st
        if r.key == ("apps", "daemonsets"):
            if status.get("observedGeneration") == gen:
                return None
            return {"observedGeneration": gen, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                    "numberReady": 1, "numberAvailable": 1, "updatedNumberScheduled": 1, "numberMisscheduled": 0}
        if r.key == ("", "pods"):
            if status.get("phase") == "Running":
                return None
            cs = [{"name": c.get("name", ""), "image": c.get("image", ""), "ready": True, "started": True,
                   "restartCount": 0, "state": {"running": {"startedAt": t}}}
                  for c in (obj.get("spec") or {}).get("containers") or []]
            return {"phase": "Running", "qosClass": "BestEffort", "startTime": t, "podIP": "10.244.0.%d" % (self.s.rv % 250 + 2),
                    "conditions": [{"type": c, "status": "True", "lastTransitionTime": t}
                                   for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                    "containerStatuses": cs}
        if r.key == ("batch", "jobs"):
            if status.get("succeeded") is not None:
                return None
            n = (obj.get("spec") or {}).get("completions", 1)
            return {"succeeded": n, "startTime": t, "completionTime": t,
                    "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t}]}
        return None

    def _remove(self, r, obj, propagation="Background"):
        md = obj["metadata"]
        k = (md.get("namespace", ""), md["name"])
        self.s.objs[r.key].pop(k, None)
        self._index(r, obj, False)
        final = dict(obj)
        final["metadata"] = dict(md)
        final["metadata"]["resourceVersion"] = self.s.next_rv()
        self.s.record(r, "DELETED", final, obj)
        for key in [x for x in self.s.applied if x[:3] == (r.key, k[0], k[1])]:
            del self.s.applied[key]
        if r.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._crd_unregister(obj)
        if r.key == ("", "namespaces"):
            pass
        elif k[0]:
            self._ns_maybe_finish(k[0])
        if propagation != "Orphan":
            for dr, dep in self._dependents(md.get("uid")):
                self._delete_obj(dr, dep, "Background")
        for ref in md.get("ownerReferences") or []:
            self._gc_owner_check(ref.get("uid"))
        return final

    def _dependents(self, uid):
        out = []
        for (dkey, dns, dname) in sorted(self.owners.get(uid, ())):
            dr = self.s.res.get(dkey)
            dep = self.s.objs.get(dkey, {}).get((dns, dname)) if dr else None
            if dep is not None:
                out.append((dr, dep))
        return out

    def _gc_owner_check(self, uid):
        """Foreground deletion: once an owner marked with the foregroundDeletion finalizer has no
        dependents left, the finalizer goes and the owner is deleted."""
        if not uid or self.owners.get(uid):
            return
        fg = self.fg_pending.pop(uid, None)
        if fg is None:
            return
        r, owner = fg
        cur = self.s.objs.get(r.key, {}).get((owner["metadata"].get("namespace", ""), owner["metadata"]["name"]))
        if cur is None or cur["metadata"].get("uid") != uid:
            return
        fins = [f for f in cur["metadata"].get("finalizers") or [] if f != "foregroundDeletion"]
        new = clone(cur)
        if fins:
            new["metadata"]["finalizers"] = fins
            self._store(r, new, cur, "MODIFIED")
        else:
            new["metadata"].pop("finalizers", None)
            self._remove(r, new)

    def _delete_obj(self, r, obj, propagation):
        """Deletes (or marks for deletion when finalizers remain). Returns the object."""
        md = obj["metadata"]
        uid = md.get("uid")
        if propagation == "Orphan":
            for dr, dep in self._dependents(uid):
                nd = clone(dep)
                refs = [x for x in nd["metadata"].get("ownerReferences") or [] if x.get("uid") != uid]
                if refs:
                    nd["metadata"]["ownerReferences"] = refs
                else:
                    nd["metadata"].pop("ownerReferences", None)
                self._store(dr, nd, dep, "MODIFIED")
        elif propagation == "Foreground" and self._dependents(uid) and not md.get("deletionTimestamp") \
                and r.key != ("", "namespaces"):
            new = clone(obj)
            new["metadata"]["deletionTimestamp"] = now_ts()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["finalizers"] = list(md.get("finalizers") or []) + ["foregroundDeletion"]
            if "generation" in new["metadata"]:
                new["metadata"]["generation"] += 1
            new = self._store(r, new, obj, "MODIFIED")
            self.fg_pending[uid] = (r, new)
            for dr, dep in self._dependents(uid):
                self._delete_obj(dr, dep, "Background")
            self._gc_owner_check(uid)
            return self.s.objs.get(r.key, {}).get((md.get("namespace", ""), md["name"])) or new
        if md.get("finalizers"):
            if md.get("deletionTimestamp"):
                return obj
            new = clone(obj)
            new["metadata"]["deletionTimestamp"] = now_ts()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if "generation" in new["metadata"]:
                new["metadata"]["generation"] += 1
            if r.key == ("", "namespaces"):
                new.setdefault("status", {})["phase"] = "Terminating"
            return self._store(r, new, obj, "MODIFIED")
        if r.key == ("", "namespaces"):
            return self._ns_delete(r, obj)
        return self._remove(r, obj, propagation)

    def _ns_delete(self, r, obj):
        ns = obj["metadata"]["name"]
        new = clone(obj)
        if not new["metadata"].get("deletionTimestamp"):
            new["metadata"]["deletionTimestamp"] = now_ts()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        new = self._store(r, new, obj, "MODIFIED")
        for rr in list(self.s.res.values()):
            if not rr.namespaced:
                continue
            for (ons, _), o in sorted(self.s.objs.get(rr.key, {}).items()):
                if ons == ns:
                    self._delete_obj(rr, o, "Background")
        return self._ns_maybe_finish(ns) or new

    def _ns_maybe_finish(self, ns):
        nsr = self.s.res[("", "namespaces")]
        nso = self.s.objs[nsr.key].get(("", ns))
        if nso is None or not nso["metadata"].get("deletionTimestamp") or nso["metadata"].get("finalizers"):
            return None
        for rr in self.s.res.values():
            if rr.namespaced and any(k[0] == ns for k in self.s.objs.get(rr.key, {})):
                return None
        return self._remove(nsr, nso)

    def _ns_check(self, r, ns, creating=False):
        if not r.namespaced:
            return
        nso = self.s.objs[("", "namespaces")].get(("", ns))
        if nso is None:
            raise err_ns_notfound(ns)
        if creating and nso["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", '%s "%s" is forbidden: unable to create new content in '
                           'namespace %s because it is being terminated' % (r.plural, "", ns),
                           {"kind": r.plural, "group": r.group} if r.group else {"kind": r.plural})

    def _get(self, r, ns, name):
        o = self.s.objs[r.key].get((ns if r.namespaced else "", name))
        if o is None:
            raise err_notfound(r, name)
        return o

    # defaults ----------------------------------------------------------------
    def _defaults(self, r, obj):
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
        if r.key in (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "replicasets")):
            obj.setdefault("spec", {}).setdefault("replicas", 1)
        elif r.key == ("", "services") and spec is not None:
            spec.setdefault("type", "ClusterIP")
            if "clusterIP" not in spec:
                spec["clusterIP"] = "10.96.%d.%d" % (self.ip_next // 250, self.ip_next % 250 + 1)
                self.ip_next += 1
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("sessionAffinity", "None")
            for p in spec.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
                    if "port" in p:
                        p.setdefault("targetPort", p["port"])
        elif r.key == ("", "secrets"):
            obj.setdefault("type", "Opaque")
            # Like the API server, stringData is write-only: merged into data (base64), then dropped.
            sd = obj.pop("stringData", None)
            if isinstance(sd, dict) and sd:
                data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
                obj["data"] = data
        elif r.key == ("", "namespaces"):
            name = obj["metadata"]["name"]
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])

    def ns_system_objects(self, ns, record):
        """--system-objects: what the namespace and service-account controllers add to every
        namespace of a real cluster: ServiceAccount "default" and ConfigMap "kube-root-ca.crt"."""
        objs = [(self.s.res[("", "serviceaccounts")],
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
                (self.s.res[("", "configmaps")],
                 {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kube-root-ca.crt", "namespace": ns, "annotations": {
                      "kubernetes.io/description": "Contains a CA bundle that can be used to verify the "
                                                   "kube-apiserver when using internal endpoints such as the "
                                                   "internal service IP or kubernetes.default.svc. No other "
                                                   "usage is guaranteed across distributions of Kubernetes clusters."}},
                  "data": {"ca.crt": EMULATOR_CA}})]
        for r, o in objs:
            if (ns, o["metadata"]["name"]) in self.s.objs[r.key]:
                continue
            md = o["metadata"]
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_ts()
            if record:
                self._store(r, o, None, "ADDED")
            else:
                self.s.put_raw(r, o)

    def _reset_status(self, r, obj):
        if r.crd:
            obj.pop("status", None)
        elif r.key == ("", "namespaces"):
            obj["status"] = {"phase": "Active"}
        elif r.key == ("", "pods"):
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif r.key == ("", "services"):
            obj["status"] = {"loadBalancer": {}}
        elif r.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            obj.pop("status", None)
        else:
            obj["status"] = {}

    # CRDs --------------------------------------------------------------------
    def _crd_validate(self, obj):
        r = self.s.res[("apiextensions.k8s.io", "customresourcedefinitions")]
        name = obj["metadata"].get("name", "")
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group", "")
        if not names.get("plural") or not names.get("kind"):
            raise err_invalid(r, name, "spec.names", "Required value: plural and kind are required", "FieldValueRequired")
        if name != "%s.%s" % (names["plural"], group):
            raise err_invalid(r, name, "metadata.name", 'Invalid value: "%s": must be spec.names.plural+"."+spec.group' % name)
        vers = spec.get("versions") or []
        if not vers or not any(v.get("served") for v in vers):
            raise err_invalid(r, name, "spec.versions", "Invalid value: must have at least one served version")
        if sum(1 for v in vers if v.get("storage")) != 1:
            raise err_invalid(r, name, "spec.versions", "Invalid value: must have exactly one version marked as storage version")
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            raise err_invalid(r, name, "spec.scope", 'Unsupported value: "%s": supported values: "Cluster", "Namespaced"' % spec.get("scope"), "FieldValueNotSupported")
        existing = self.s.res.get((group, names["plural"]))
        if existing is not None and existing.crd is None:
            raise err_invalid(r, name, "spec.names.plural", "Invalid value: conflicts with a built-in resource")

    def _crd_status(self, obj):
        spec = obj.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        t = now_ts()
        storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
        old = obj.get("status") or {}
        stored = list(old.get("storedVersions") or [])
        for v in storage:
            if v not in stored:
                stored.append(v)
        obj["status"] = {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t,
                 "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": t,
                 "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}],
            "storedVersions": stored}

    def _crd_register(self, obj):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        vers = [v for v in spec.get("versions") or [] if v.get("served")]
        status = any((v.get("subresources") or {}).get("status") is not None for v in vers)
        scale_def = next(((v.get("subresources") or {}).get("scale") for v in vers
                          if (v.get("subresources") or {}).get("scale") is not None), None)
        r = Res(spec.get("group", ""), [v["name"] for v in vers], names["kind"], names["plural"],
                namespaced=spec.get("scope") == "Namespaced", short=names.get("shortNames") or [],
                cats=names.get("categories") or [], status=status, scale=scale_def is not None,
                generation=True, singular=names.get("singular") or names["kind"].lower(),
                crd=obj["metadata"]["name"],
                columns={v["name"]: v.get("additionalPrinterColumns") or [] for v in vers},
                scale_paths=({"spec": scale_def.get("specReplicasPath"),
                              "status": scale_def.get("statusReplicasPath"),
                              "selector": scale_def.get("labelSelectorPath")} if scale_def else None))
        r.schemas = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema") for v in vers}
        self.s.add_res(r)

    def _crd_unregister(self, obj):
        spec = obj.get("spec") or {}
        key = (spec.get("group", ""), (spec.get("names") or {}).get("plural"))
        r = self.s.res.get(key)
        if r is None or r.crd != obj["metadata"]["name"]:
            return
        for o in list(self.s.objs.get(key, {}).values()):
            self._remove(r, o)
        del self.s.res[key]
        self.s.objs.pop(key, None)

    # reads -----------------------------------------------------------------
    def get(self, r, ns, name):
        with self.s.cond:
            return self._get(r, ns, name)

    def get_or_none(self, r, ns, name):
        with self.s.cond:
            return self.s.objs[r.key].get((ns if r.namespaced else "", name))

    def list(self, r, ns, params):
        ls = parse_label_selector(params.get("labelSelector", ""))
        fs = parse_field_selector(params.get("fieldSelector", ""))
        limit = int_param(params, "limit", 0)
        start = None
        with self.s.cond:
            want = params.get("resourceVersion", "")
            if want not in ("", "0") and not params.get("continue"):
                try:
                    want_rv = int(want)
                except ValueError:
                    raise err_bad("invalid resource version: %r" % want)
                end = time.monotonic() + 3
                while want_rv > self.s.rv and time.monotonic() < end:
                    self.s.cond.wait(end - time.monotonic())
                if want_rv > self.s.rv:
                    raise too_large(want_rv, self.s.rv)
            list_rv = self.s.rv
            cont = params.get("continue")
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode() + b"==").decode())
                    tok_rv, start, tok_c = int(tok["rv"]), tuple(tok["start"]), int(tok.get("c", 0))
                except (ValueError, KeyError, TypeError):
                    raise err_bad("continue key is not valid: invalid continue token")
                if tok_rv < self.s.compacted or tok_c != self.s.compactions:
                    raise ApiError(410, "Expired", "The provided continue parameter is too old to display a "
                                   "consistent list result. You can start a new list without the continue "
                                   "parameter, or use the continue token in this response to retrieve the "
                                   "remainder of the results. Continuing with the provided token results in an "
                                   "inconsistent list - objects that were created, modified, or deleted between "
                                   "the time the first chunk was returned and now may show up in the list.")
                list_rv = tok_rv
            store = self.s.objs.get(r.key, {})
            keys = sorted(k for k in store if (not ns or k[0] == ns) and (start is None or k > start))
            items, cont_key = [], None
            for i, k in enumerate(keys):
                o = store[k]
                if ls and not labels_match(ls, o["metadata"].get("labels")):
                    continue
                if fs and not fields_match(fs, o):
                    continue
                items.append(o)
                if limit and len(items) >= limit:
                    if i + 1 < len(keys):
                        cont_key = k
                    break
            md = {"resourceVersion": str(list_rv)}
            if cont_key is not None:
                md["continue"] = base64.urlsafe_b64encode(dumps(
                    {"rv": list_rv, "start": list(cont_key), "c": self.s.compactions}).encode()).decode().rstrip("=")
                md["remainingItemCount"] = len(keys) - i - 1 if not ls and not fs else None
                if md["remainingItemCount"] is None:
                    del md["remainingItemCount"]
        return items, md

    # writes ------------------------------------------------------------------
    def create(self, r, version, ns, body, params, manager=None, applied=None):
        if not isinstance(body, dict):
            raise err_bad("the body of the request must be a JSON object")
        dry = params.get("dryRun") == "All"
        with self.s.cond:
            obj = clone(body)
            self._check_type(r, version, obj)
            obj["apiVersion"] = r.api_version(version)
            obj["kind"] = r.kind
            md = obj.get("metadata")
            if not isinstance(md, dict):
                md = obj["metadata"] = {}
            if r.namespaced:
                if md.get("namespace") and md["namespace"] != ns:
                    raise err_bad("the namespace of the provided object does not match the namespace sent on the request")
                md["namespace"] = ns
            else:
                md.pop("namespace", None)
            if not md.get("name"):
                if md.get("generateName"):
                    md["name"] = md["generateName"] + "".join(random.choice(GEN_CHARS) for _ in range(5))
                else:
                    raise err_invalid(r, "", "metadata.name", "Required value: name or generateName is required", "FieldValueRequired")
            name = md["name"]
            if len(name) > 253 or not NAME_RE.match(name):
                raise err_invalid(r, name, "metadata.name", 'Invalid value: "%s": a lowercase RFC 1123 subdomain must consist of '
                                  "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character" % name)
            self._ns_check(r, ns, creating=True)
            if (ns if r.namespaced else "", name) in self.s.objs[r.key]:
                d = {"name": name, "kind": r.plural}
                if r.group:
                    d["group"] = r.group
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(r), name), d)
            if md.get("resourceVersion"):
                raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
            for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"):
                md.pop(f, None)
            if r.status:
                self._reset_status(r, obj)
            self._defaults(r, obj)
            if r.crd:
                obj = self._crd_schema(r, version, obj, params)
                md = obj["metadata"]
            is_crd = r.key == ("apiextensions.k8s.io", "customresourcedefinitions")
            if is_crd:
                self._crd_validate(obj)
                self._crd_status(obj)
            md.pop("managedFields", None)
            mfs = self._mf_compute(r, version, None, obj, manager or params.get("fieldManager") or default_manager(),
                                   "Apply" if manager else "Update", None, applied)
            if mfs:
                md["managedFields"] = mfs
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_ts()
            if r.generation or r.crd:
                md["generation"] = 1
            if dry:
                return obj
            if manager:
                self.s.applied[(r.key, md.get("namespace", ""), name, manager)] = applied
            obj = self._store(r, obj, None, "ADDED")
            if r.key == ("", "namespaces") and self.args.system_objects:
                self.ns_system_objects(name, record=True)
            if is_crd:
                self._crd_register(obj)
            return obj

    def _crd_schema(self, r, version, obj, params):
        """Prunes unknown fields, applies schema defaults and validates a custom resource."""
        sch = (getattr(r, "schemas", None) or {}).get(version)
        if not sch:
            return obj
        new, unknown, errs = crdschema.process(obj, sch)
        mode = (params.get("fieldValidation") or "Warn").lower()
        if unknown:
            if mode == "strict":
                raise err_bad('%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                              % (r.kind, version, r.kind, ", ".join('unknown field "%s"' % u for u in unknown)))
            if mode != "ignore":
                for u in unknown:
                    warn('unknown field "%s"' % u)
        if errs:
            raise err_invalid_multi(r, obj["metadata"].get("name", ""), errs)
        return new

    def _check_type(self, r, version, obj):
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if av and av != r.api_version(version) and not (r.crd and av.split("/")[0] == r.group):
            raise err_bad("the API version in the data (%s) does not match the expected API version (%s)"
                          % (av, r.api_version(version)))
        if kind and kind != r.kind:
            raise err_bad("the kind in the data (%s) does not match the expected kind (%s)" % (kind, r.kind))

    def _mf_parse(self, obj):
        ents = []
        for e in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
            if isinstance(e, dict) and e.get("manager") is not None:
                ents.append(dict(e, paths=patches.paths_from_fields(e.get("fieldsV1") or {})))
        return ents

    def _apply_paths(self, r, cfg, sub):
        if sub == "status":
            return {p for p in patches.object_paths({"status": (cfg or {}).get("status") or {}}) if p[0] == "f:status"}
        return patches.object_paths(cfg, skip_status=bool(r.status))

    def _mf_compute(self, r, version, old, new, manager, op, sub, cfg=None, force=False, base=None):
        """managedFields of `new` after a write by `manager` (simplified server-side apply field
        ownership: Update takes the fields it changed, Apply owns exactly the fields it applies;
        force takes them from the other managers). `base` (default `old`) holds the entries to
        start from: a request that sets managedFields itself replaces them, like the real server."""
        ents = self._mf_parse(base if base is not None else old)
        skip_status = bool(r.status) and sub != "status"

        def mine(e):
            return e.get("manager") == manager and e.get("operation") == op and e.get("subresource") == sub
        if op == "Apply":
            changed = self._apply_paths(r, cfg, sub)
            if force:
                for e in ents:
                    if not mine(e):
                        e["paths"] -= changed
        else:
            changed = patches.changed_paths(old, new, skip_status)
            if sub == "status":
                changed = {p for p in changed if p[0] == "f:status"}
            elif r.status:
                changed = {p for p in changed if p[0] != "f:status"}
            for e in ents:
                if not mine(e):
                    e["paths"] -= changed
        me = next((e for e in ents if mine(e)), None)
        if me is None:
            me = {"manager": manager, "operation": op, "paths": set()}
            ents.append(me)
        if op == "Apply":
            me["paths"] = set(changed)
        else:
            me["paths"] |= changed
        if changed or op == "Apply":
            me["apiVersion"] = r.api_version(version)
            me["time"] = now_ts()
        out = []
        for e in ents:
            paths = {p for p in e["paths"] if patches.value_at(new, p) is not patches._MISSING}
            if not paths:
                continue
            o = {"manager": e["manager"], "operation": e["operation"],
                 "apiVersion": e.get("apiVersion") or r.api_version(version), "time": e.get("time") or now_ts(),
                 "fieldsType": "FieldsV1", "fieldsV1": patches.fields_from_paths(paths)}
            if e.get("subresource") or (e is me and sub):
                o["subresource"] = e.get("subresource") or sub
            out.append(o)
        return out

    def _apply_conflicts(self, r, old, cfg, mgr, sub):
        paths = self._apply_paths(r, cfg, sub)
        confs = []
        for e in self._mf_parse(old):
            if e.get("manager") == mgr and e.get("operation") == "Apply":
                continue
            for p in sorted(paths & e["paths"]):
                if p[-1] != "." and patches.value_at(old, p) != patches.value_at(cfg, p):
                    confs.append(('"%s" using %s' % (e["manager"], e.get("apiVersion", "")), patches.path_str(p)))
        if not confs:
            return
        if len(confs) == 1:
            text = "conflict with %s: %s" % confs[0]
        else:
            by = collections.OrderedDict()
            for m, p in confs:
                by.setdefault(m, []).append(p)
            text = "conflicts with" + (":\n" if len(by) > 1 else "")
            for m, ps in by.items():
                text += " %s" % m + (": %s\n" % ps[0] if len(ps) == 1 else ":\n" + "".join("- %s\n" % p for p in ps))
        d = {"name": old["metadata"]["name"], "kind": r.plural,
             "causes": [{"reason": "FieldManagerConflict", "message": "conflict with %s" % m, "field": p} for m, p in confs]}
        if r.group:
            d["group"] = r.group
        raise ApiError(409, "Conflict", "Apply failed with %d conflict%s: %s" % (len(confs), "s" if len(confs) > 1 else "", text), d)

    def _finish_write(self, r, version, old, new, sub, params, manager=None, op="Update", cfg=None):
        """Applies the status/metadata/generation rules to `new` (a fresh copy) and stores it."""
        dry = params.get("dryRun") == "All"
        if sub == "status":
            result = clone(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            new = result
            if r.crd:
                new = self._crd_schema(r, version, new, params)
        else:
            self._check_type(r, version, new)
            new["apiVersion"] = old["apiVersion"] if r.crd else r.api_version(version)
            new["kind"] = r.kind
            if r.status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            md = new.get("metadata")
            if not isinstance(md, dict):
                md = new["metadata"] = {}
            omd = old["metadata"]
            for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "name", "namespace", "generation"):
                if f in omd:
                    md[f] = omd[f]
                else:
                    md.pop(f, None)
            if r.crd:
                new = self._crd_schema(r, version, new, params)
                md = new["metadata"]
            if (r.generation or r.crd) and spec_part(new) != spec_part(old):
                md["generation"] = omd.get("generation", 1) + 1
            if r.key == ("", "namespaces"):
                self._defaults(r, new)
        mgr = manager or params.get("fieldManager") or default_manager()
        client_mf = new["metadata"].get("managedFields")
        mf_set = sub != "status" and isinstance(client_mf, list) and client_mf != old["metadata"].get("managedFields")
        mfs = self._mf_compute(r, version, old, new, mgr, op, sub, cfg, params.get("force") in ("true", "1"),
                               base=new if mf_set else None)
        if mfs:
            new["metadata"]["managedFields"] = mfs
        else:
            new["metadata"].pop("managedFields", None)
        is_crd = r.key == ("apiextensions.k8s.io", "customresourcedefinitions")
        if is_crd and sub != "status":
            self._crd_validate(new)
            self._crd_status(new)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if strip_rv(new) == strip_rv(old) and not mf_set:
            return old
        if dry:
            return new
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            if r.key == ("", "namespaces"):
                self.s.objs[r.key][("", new["metadata"]["name"])] = new
                return self._ns_maybe_finish(new["metadata"]["name"]) or new
            return self._remove(r, new)
        stored = self._store(r, new, old, "MODIFIED")
        if is_crd:
            self._crd_unregister_keep(old, stored)
        return stored

    def _crd_unregister_keep(self, old, new):
        """Re-registers a changed CRD (names/versions may have changed)."""
        os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
        okey = (os_.get("group"), (os_.get("names") or {}).get("plural"))
        nkey = (ns_.get("group"), (ns_.get("names") or {}).get("plural"))
        if okey != nkey:
            self._crd_unregister(old)
            self.s.objs.setdefault(nkey, {})
        self._crd_register(new)

    def update(self, r, version, ns, name, body, params, sub=None):
        if not isinstance(body, dict):
            raise err_bad("the body of the request must be a JSON object")
        with self.s.cond:
            if sub == "scale":
                return self._scale_write(r, version, ns, name, body, params)
            bname = (body.get("metadata") or {}).get("name")
            if bname and bname != name:
                raise err_bad("the name of the object (%s) does not match the name on the URL (%s)" % (bname, name))
            old = self._get(r, ns, name)
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise err_conflict(r, name)
            if not rv and r.crd:
                raise err_invalid(r, name, "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")
            return self._finish_write(r, version, old, clone(body), sub, params)

    def patch(self, r, version, ns, name, ctype, body, params, sub=None, view=None):
        with self.s.cond:
            ctype = (ctype or "").split(";")[0].strip().lower()
            if ctype == "application/apply-patch+yaml":
                return self._apply(r, version, ns, name, body, params, sub)
            patch = parse_json(body)
            if ctype == "application/strategic-merge-patch+json" and r.crd:
                raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for %s" % qualified(r))
            old = self._get(r, ns, name)
            cur = self._scale_obj(r, old) if sub == "scale" else (view[0](clone(old)) if view else clone(old))
            try:
                if ctype == "application/merge-patch+json":
                    if not isinstance(patch, dict):
                        raise patches.PatchError("merge patch must be a JSON object")
                    new = patches.merge_patch(cur, patch)
                elif ctype == "application/json-patch+json":
                    new = patches.json_patch(cur, patch)
                elif ctype == "application/strategic-merge-patch+json":
                    if not isinstance(patch, dict):
                        raise patches.PatchError("strategic merge patch must be a JSON object")
                    new = patches.strategic_merge(cur, patch)
                else:
                    raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                   "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                                   "application/apply-patch+yaml, application/strategic-merge-patch+json")
            except patches.PatchError as e:
                raise ApiError(422, "Invalid", str(e)) if ctype == "application/json-patch+json" else err_bad(str(e))
            if not isinstance(new, dict):
                raise err_bad("patch did not produce a JSON object")
            if view:
                new = view[1](new)
            new_rv = (new.get("metadata") or {}).get("resourceVersion")
            if new_rv and new_rv != cur["metadata"].get("resourceVersion"):
                raise err_conflict(r, name)
            if sub == "scale":
                return self._scale_write(r, version, ns, name, new, params)
            md = new.setdefault("metadata", {}) if isinstance(new.get("metadata"), dict) else None
            if md is None:
                raise err_bad("metadata must be an object")
            if md.get("name") != name:
                md["name"] = name
            return self._finish_write(r, version, old, new, sub, params)

    def _apply(self, r, version, ns, name, body, params, sub):
        mgr = params.get("fieldManager")
        if not mgr:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                               {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]})
        cfg = parse_json(body, allow_yaml=True)
        if not isinstance(cfg, dict):
            raise err_bad("apply patch must be an object")
        if not cfg.get("apiVersion") or not cfg.get("kind"):
            raise err_bad("invalid object type: /, Kind=: apiVersion and kind must be set in an apply patch")
        self._check_type(r, version, cfg)
        cmd = cfg.get("metadata") or {}
        if cmd.get("name") and cmd["name"] != name:
            raise err_bad("the name of the object (%s) does not match the name on the URL (%s)" % (cmd["name"], name))
        key = (r.key, ns if r.namespaced else "", name, mgr)
        old = self.s.objs[r.key].get((ns if r.namespaced else "", name))
        if old is None:
            if sub:
                raise err_notfound(r, name)
            body_obj = clone(cfg)
            body_obj.setdefault("metadata", {})["name"] = name
            return self.create(r, version, ns, body_obj, params, manager=mgr, applied=cfg), 201
        if params.get("force") not in ("true", "1"):
            self._apply_conflicts(r, old, cfg, mgr, sub)
        prev = self.s.applied.get(key)
        cur = clone(old)
        if sub == "status":
            new = clone(old)
            new["status"] = patches.apply_merge(
                patches.apply_remove(cur.get("status") or {}, (prev or {}).get("status"), cfg.get("status")),
                cfg.get("status") or {})
        else:
            new = patches.apply_remove(cur, prev, cfg)
            new = patches.apply_merge(new, {k: v for k, v in cfg.items() if k != "status" or not r.status})
            new["metadata"]["name"] = name
        res = self._finish_write(r, version, old, new, sub, params, manager=mgr, op="Apply",
                                 cfg=cfg.get("status") if sub == "status" else cfg)
        if params.get("dryRun") != "All":
            self.s.applied[key] = cfg
        return res, 200

    def delete(self, r, ns, name, params, body):
        opts = {}
        if body:
            try:
                opts = json.loads(body)
            except ValueError:
                raise err_bad("invalid DeleteOptions body")
            if not isinstance(opts, dict):
                opts = {}
        prop = params.get("propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if prop not in ("Background", "Foreground", "Orphan"):
            raise err_bad('unsupported propagationPolicy "%s"' % prop)
        dry = params.get("dryRun") == "All" or "All" in (opts.get("dryRun") or [])
        with self.s.cond:
            obj = self._get(r, ns, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
                raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in precondition: %s, UID in object meta: %s'
                               % (qualified(r), name, pre["uid"], obj["metadata"].get("uid")))
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise err_conflict(r, name)
            if dry:
                return obj
            return self._delete_obj(r, obj, prop)

    def delete_collection(self, r, ns, params, body):
        items, _ = self.list(r, ns, {k: v for k, v in params.items() if k in ("labelSelector", "fieldSelector")})
        out = []
        for o in items:
            try:
                out.append(self.delete(r, o["metadata"].get("namespace", ""), o["metadata"]["name"], params, body))
            except ApiError:
                pass
        return out

    # scale -------------------------------------------------------------------
    def _scale_obj(self, r, obj):
        md = obj["metadata"]
        sp = r.scale_paths
        spec_v = jsonpath(obj, sp["spec"]) if sp.get("spec") else []
        stat_v = jsonpath(obj, sp["status"]) if sp.get("status") else []
        sel = ""
        if sp.get("selector"):
            sv = jsonpath(obj, sp["selector"])
            if sv:
                sel = sv[0] if isinstance(sv[0], str) else _selector_str(sv[0]).replace("<none>", "")
        sc = {"kind": "Scale", "apiVersion": "autoscaling/v1",
              "metadata": {"name": md["name"], "uid": md.get("uid"), "resourceVersion": md["resourceVersion"],
                           "creationTimestamp": md.get("creationTimestamp")},
              "spec": {"replicas": spec_v[0] if spec_v else 0},
              "status": {"replicas": stat_v[0] if stat_v else 0}}
        if md.get("namespace"):
            sc["metadata"]["namespace"] = md["namespace"]
        if sel:
            sc["status"]["selector"] = sel
        return sc

    def scale_get(self, r, ns, name):
        with self.s.cond:
            return self._scale_obj(r, self._get(r, ns, name))

    def _scale_write(self, r, version, ns, name, scale, params):
        old = self._get(r, ns, name)
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise err_conflict(r, name)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", 'Scale.autoscaling "%s" is invalid: spec.replicas: Invalid value: %s: must be greater than or equal to 0' % (name, dumps(replicas)))
        new = clone(old)
        cur = new
        parts = [p for p in r.scale_paths["spec"].split(".") if p]
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = replicas
        res = self._finish_write(r, version, old, new, None, params)
        return self._scale_obj(r, res)


EMULATOR_CA = ("-----BEGIN CERTIFICATE-----\n"
               "MIIBdzCCAR2gAwIBAgIUZW11bGF0b3ItY2EtcGxhY2Vob2xkZXIwCgYIKoZIzj0EAwIw\n"
               "-----END CERTIFICATE-----\n")   # placeholder: the emulator serves no in-cluster endpoint


def too_large(rv, cur):
    return ApiError(504, "Timeout", "Timeout: Too large resource version: %d, current: %d" % (rv, cur),
                    {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                     "retryAfterSeconds": 1}, {"Retry-After": "1"})


def int_param(params, name, default):
    v = params.get(name)
    if v in (None, ""):
        return default
    try:
        return int(v)
    except ValueError:
        raise err_bad("invalid value for %s: %r" % (name, v))


def parse_json(body, allow_yaml=False):
    try:
        return json.loads(body.decode("utf-8") if body else "null")
    except (ValueError, UnicodeDecodeError) as e:
        if allow_yaml and yaml is not None:
            try:
                return yaml.safe_load(body.decode("utf-8"))
            except Exception:
                pass
        raise err_bad("couldn't get version/kind; json parse error: %s" % e)


# --------------------------------------------------------------------------- control state

class Control:
    def __init__(self):
        self.lock = threading.RLock()
        self.faults = []            # [{"count", "code", "retryAfter", "pathPrefix", "verb"}]
        self.latency_ms = 0
        self.by_verb = collections.Counter()
        self.by_path = collections.Counter()
        self.by_code = collections.Counter()
        self.total = 0
        self.watches_open = 0
        self.watches_total = 0
        self.faults_served = 0
        self.drop_abort = False

    def take_fault(self, path, verb):
        with self.lock:
            for f in self.faults:
                if f["count"] > 0 and path.startswith(f.get("pathPrefix") or "/") and \
                        (not f.get("verb") or f["verb"] == verb):
                    f["count"] -= 1
                    self.faults_served += 1
                    fault = dict(f)
                    self.faults = [x for x in self.faults if x["count"] > 0]
                    return fault
        return None


# --------------------------------------------------------------------------- HTTP

def k8s_verb(method, name, watch):
    if method == "GET":
        return "watch" if watch else ("get" if name else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection"}.get(method, method.lower())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-emulator"
    sys_version = ""

    def log_message(self, fmt, *a):
        if self.server.args.verbose:
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), fmt % a))

    def setup(self):
        super().setup()
        try:  # headers and body go out in separate writes: avoid Nagle/delayed-ACK 40 ms stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise
            self.connection.settimeout(None)

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # io ------------------------------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(1024).strip()
                size = int(line.split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline(16)
                if len(data) > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "request entity too large: limit is %d" % MAX_BODY)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, headers=None, content_type="application/json"):
        data = dumps(obj).encode() if not isinstance(obj, bytes) else obj
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        for w in getattr(REQ, "warnings", None) or []:
            self.send_header("Warning", '299 - "%s"' % w.replace("\\", "\\\\").replace('"', '\\"'))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        with self.server.ctl.lock:
            self.server.ctl.by_code[str(code)] += 1

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), e.headers)

    # dispatch --------------------------------------------------------------
    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        REQ.warnings = []
        REQ.user_agent = self.headers.get("User-Agent") or ""
        try:
            body = self.read_body()
        except (ValueError, ApiError) as e:
            self.close_connection = True
            return self.send_error_status(e if isinstance(e, ApiError) else err_bad("malformed chunked body"))
        if path.startswith("/emulator/v1/") or path == "/emulator/v1":
            return self.control(method, path[len("/emulator/v1/"):], body)
        try:
            self.route_api(method, path, params, body, url)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # report, keep serving
            import traceback
            traceback.print_exc()
            self.send_error_status(ApiError(500, "InternalError", "Internal error occurred: %s" % e))

    def auth_ok(self):
        tf = self.server.args.token_file
        if not tf:
            return True
        try:
            with open(tf, encoding="utf-8") as f:
                tokens = {ln.strip() for ln in f if ln.strip()}
        except OSError:
            tokens = set()
        h = self.headers.get("Authorization") or ""
        return h.startswith("Bearer ") and h[7:].strip() in tokens

    def route_api(self, method, path, params, body, url):
        srv = self.server
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        # classify for stats and faults
        watch = params.get("watch") in ("true", "1")
        target = self.parse_resource_path(parts)
        verb = k8s_verb(method, target[4] if target else None, watch) if target else method.lower()
        with srv.ctl.lock:
            srv.ctl.total += 1
            srv.ctl.by_verb[verb] += 1
            srv.ctl.by_path["%s %s" % (method, path)] += 1
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_text(200, "ok")
        if not self.auth_ok():
            raise ApiError(401, "Unauthorized", "Unauthorized")
        fault = srv.ctl.take_fault(path, verb)
        if fault:
            code = int(fault.get("code", 500))
            hdrs = {}
            det = None
            if fault.get("retryAfter") is not None:
                hdrs["Retry-After"] = str(fault["retryAfter"])
                det = {"retryAfterSeconds": int(fault["retryAfter"])}
            msg = {429: "Too many requests, please try again later.",
                   500: "Internal error occurred: injected fault",
                   503: "The server is currently unable to handle the request (injected fault)",
                   403: 'forbidden: User "system:serviceaccount:emulator:test" cannot %s resource at %s (injected fault)' % (verb, path),
                   401: "Unauthorized"}.get(code, "injected fault")
            raise ApiError(code, fault.get("reason") or REASONS.get(code, ""), msg, det, hdrs)
        lat = srv.ctl.latency_ms
        if lat > 0:
            time.sleep(lat / 1000.0)
        ctype = (self.headers.get("Content-Type") or "").lower()
        if body and "protobuf" in ctype:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json, application/yaml "
                           "(this emulator does not speak application/vnd.kubernetes.protobuf)")
        if method == "GET" and not target:
            return self.discovery(parts, params)
        if not target:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.resource(method, target, params, body, ctype, watch)

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def parse_resource_path(self, parts):
        """Returns (group, version, namespace, plural, name, subresource) or None."""
        if len(parts) >= 3 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            raise NOT_FOUND_PATH
        return (group, version, ns, plural, name, sub)

    # discovery -------------------------------------------------------------
    def discovery(self, parts, params):
        st = self.server.store
        p = "/" + "/".join(parts)
        if p == "/version":
            minor = SERVER_VERSION.split(".")[1]
            return self.send_json(200, {"major": "1", "minor": minor, "emulationMajor": "1", "emulationMinor": minor,
                                        "gitVersion": SERVER_VERSION, "gitCommit": "0000000000000000000000000000000000000000",
                                        "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z",
                                        "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64"})
        accept = (self.headers.get("Accept") or "").replace(" ", "")
        if p in ("/api", "/apis") and "as=APIGroupDiscoveryList" in accept and "v=v2;" in accept + ";" \
                and "g=apidiscovery.k8s.io" in accept:
            with st.cond:
                body = aggregated_discovery(st, core=(p == "/api"))
            return self.send_json(200, body, content_type="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        if p == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        with st.cond:
            groups = st.groups()
            if p == "/apis":
                out = []
                for g, vs in groups.items():
                    out.append({"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs],
                                "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}})
                return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": out})
            if len(parts) == 2 and parts[0] == "apis":
                g = parts[1]
                if g not in groups:
                    raise NOT_FOUND_PATH
                vs = groups[g]
                return self.send_json(200, {"kind": "APIGroup", "apiVersion": "v1", "name": g,
                                            "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs],
                                            "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}})
            if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
                g, v = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
                rs = [r for r in st.res.values() if r.group == g and v in r.versions]
                if not rs:
                    raise NOT_FOUND_PATH
                return self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                            "groupVersion": v if not g else "%s/%s" % (g, v),
                                            "resources": resource_list(rs)})
            if parts and parts[0] == "openapi":
                return self.openapi(parts[1:], params)
        raise NOT_FOUND_PATH

    def openapi(self, parts, params):
        st = self.server.store
        if parts == ["v3"]:
            paths = {}
            gvs = {("", "v1")}
            for r in st.res.values():
                for v in r.versions:
                    gvs.add((r.group, v))
            for g, v in sorted(gvs):
                p = "api/v1" if not g else "apis/%s/%s" % (g, v)
                paths[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, self.server.openapi_hash(g, v))}
            return self.send_json(200, {"paths": paths})
        if parts and parts[0] == "v3":
            rel = parts[1:]
            if rel[:2] == ["api", "v1"] and len(rel) == 2:
                g, v = "", "v1"
            elif len(rel) == 3 and rel[0] == "apis":
                g, v = rel[1], rel[2]
            else:
                raise NOT_FOUND_PATH
            rs = [r for r in st.res.values() if r.group == g and v in r.versions]
            if not rs:
                raise NOT_FOUND_PATH
            return self.send_json(200, openapi_doc(rs, g, v))
        raise NOT_FOUND_PATH

    # resources -------------------------------------------------------------
    def resource(self, method, target, params, body, ctype, watch):
        srv = self.server
        api = srv.api
        group, version, ns, plural, name, sub = target
        r = srv.store.lookup(group, version, plural)
        if r is None:
            raise NOT_FOUND_PATH
        if ns and not r.namespaced:
            raise NOT_FOUND_PATH
        if r.namespaced and name is not None and not ns:
            raise NOT_FOUND_PATH
        if sub is not None and not ((sub == "status" and (r.status or r.key == ("", "namespaces")))
                                    or (sub == "scale" and r.scale)):
            raise NOT_FOUND_PATH
        accept = self.headers.get("Accept") or ""
        as_table = "as=table" in accept.lower().replace(" ", "")
        if r.view_of:
            return self.resource_view(method, r, version, ns, name, sub, params, body, ctype, watch, as_table)
        if name is None:
            if method == "GET":
                if watch:
                    return self.watch(r, version, ns, params, as_table)
                items, md = api.list(r, ns, params)
                if as_table:
                    return self.send_json(200, self.table(r, version, items, md, params))
                return self.send_json(200, self.list_body(r, version, items, md))
            if method == "POST":
                obj = api.create(r, version, ns, parse_json(body), params)
                return self.send_json(201, out_obj(r, version, obj))
            if method == "DELETE":
                items = api.delete_collection(r, ns, params, body)
                return self.send_json(200, self.list_body(r, version, items, {"resourceVersion": str(srv.store.rv)}))
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "GET":
            if watch:
                params = dict(params)
                params["fieldSelector"] = "metadata.name=%s" % name
                return self.watch(r, version, ns, params, as_table)
            if sub == "scale":
                return self.send_json(200, api.scale_get(r, ns, name))
            obj = api.get(r, ns, name)
            if as_table:
                return self.send_json(200, self.table(r, version, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}, params))
            return self.send_json(200, out_obj(r, version, obj))
        if method == "PUT":
            obj = api.update(r, version, ns, name, parse_json(body), params, sub)
            return self.send_json(200, obj if sub == "scale" else out_obj(r, version, obj))
        if method == "PATCH":
            res = api.patch(r, version, ns, name, ctype, body, params, sub)
            code = 200
            if isinstance(res, tuple):
                res, code = res
            return self.send_json(code, res if sub == "scale" else out_obj(r, version, res))
        if method == "DELETE":
            if sub:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            obj = api.delete(r, ns, name, params, body)
            gone = api.get_or_none(r, ns, name) is None
            if gone and r.key not in RETURN_DELETED and params.get("dryRun") != "All":
                # like the real registry: immediate deletions answer a Success Status
                det = {"name": name, "kind": r.plural, "uid": obj["metadata"].get("uid")}
                if r.group:
                    det["group"] = r.group
                return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                            "status": "Success", "details": det})
            return self.send_json(200, out_obj(r, version, obj))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def resource_view(self, method, view, version, ns, name, sub, params, body, ctype, watch, as_table):
        """events.k8s.io/v1 Events: the same objects as core/v1 Events, converted both ways
        (as the real API server does)."""
        api = self.server.api
        core = self.server.store.res[view.view_of]
        if sub:
            raise NOT_FOUND_PATH
        params = dict(params)
        if params.get("fieldSelector"):
            params["fieldSelector"] = event_fields_to_core(params["fieldSelector"])
        conv = (event_to_view, event_to_core)
        if name is not None and method == "GET" and watch:
            params["fieldSelector"] = "metadata.name=%s" % name
        if (name is None or watch) and method == "GET":
            if watch:
                return self.watch(core, "v1", ns, params, as_table, view=(view, version, conv[0]))
            items, md = api.list(core, ns, params)
            if as_table:
                return self.send_json(200, self.table(core, "v1", items, md, params))
            its = []
            for o in items:
                v = conv[0](o)
                v.pop("kind", None)
                v.pop("apiVersion", None)
                its.append(v)
            return self.send_json(200, {"kind": "EventList", "apiVersion": view.api_version(version),
                                        "metadata": md, "items": its})
        if name is None and method == "POST":
            b = parse_json(body)
            if not isinstance(b, dict):
                raise err_bad("the body of the request must be a JSON object")
            self.server.api._check_type(view, version, b)
            return self.send_json(201, conv[0](api.create(core, "v1", ns, conv[1](b), params)))
        if name is None and method == "DELETE":
            items = api.delete_collection(core, ns, params, body)
            return self.send_json(200, {"kind": "EventList", "apiVersion": view.api_version(version),
                                        "metadata": {"resourceVersion": str(self.server.store.rv)},
                                        "items": [conv[0](o) for o in items]})
        if name is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "GET":
            return self.send_json(200, conv[0](api.get(core, ns, name)))
        if method == "PUT":
            b = parse_json(body)
            if not isinstance(b, dict):
                raise err_bad("the body of the request must be a JSON object")
            self.server.api._check_type(view, version, b)
            return self.send_json(200, conv[0](api.update(core, "v1", ns, name, conv[1](b), params)))
        if method == "PATCH":
            if (ctype or "").startswith("application/apply-patch"):
                b = parse_json(body, allow_yaml=True)
                if not isinstance(b, dict):
                    raise err_bad("apply patch must be an object")
                body = dumps(conv[1](b)).encode()
            res = api.patch(core, "v1", ns, name, ctype, body, params, view=conv)
            code = 200
            if isinstance(res, tuple):
                res, code = res
            return self.send_json(code, conv[0](res))
        if method == "DELETE":
            obj = api.delete(core, ns, name, params, body)
            if api.get_or_none(core, ns, name) is None and params.get("dryRun") != "All":
                return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                            "details": {"name": name, "group": view.group, "kind": view.plural,
                                                        "uid": obj["metadata"].get("uid")}})
            return self.send_json(200, conv[0](obj))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def list_body(self, r, version, items, md):
        if r.crd:
            its = [out_obj(r, version, o) for o in items]
        else:
            its = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        return {"kind": r.kind + "List", "apiVersion": r.api_version(version), "metadata": md, "items": its}

    def table(self, r, version, items, md, params):
        defs, fns = table_columns(r, version)
        include = params.get("includeObject") or "Metadata"
        rows = [table_row(fns, out_obj(r, version, o) if include == "Object" else o, include) for o in items]
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md,
                "columnDefinitions": defs, "rows": rows}

    # watch -----------------------------------------------------------------
    def watch(self, r, version, ns, params, as_table, view=None):
        srv, st = self.server, self.server.store
        ls = parse_label_selector(params.get("labelSelector", ""))
        fs = parse_field_selector(params.get("fieldSelector", ""))
        timeout = int_param(params, "timeoutSeconds", 1800)
        bookmarks = params.get("allowWatchBookmarks") in ("true", "1")
        initial_events = params.get("sendInitialEvents") == "true"
        rvp = params.get("resourceVersion", "")
        deadline = time.monotonic() + max(timeout, 0)
        defs, fns = table_columns(r, version) if as_table else (None, None)
        include = params.get("includeObject") or "Metadata"

        def match(o):
            if ns and o["metadata"].get("namespace", "") != ns:
                return False
            if ls and not labels_match(ls, o["metadata"].get("labels")):
                return False
            return not fs or fields_match(fs, o)

        initial, expired = [], None
        with st.cond:
            epoch = st.epoch
            if rvp in ("", "0") or initial_events:
                initial = [o for k, o in sorted(st.objs.get(r.key, {}).items()) if match(o)]
                cursor = st.rv
            else:
                try:
                    cursor = int(rvp)
                except ValueError:
                    raise err_bad("invalid resource version: %r" % rvp)
                if cursor < st.compacted:
                    expired = "too old resource version: %d (%d)" % (cursor, st.compacted + 1)
                elif cursor > st.rv:
                    # like the watch cache: wait up to 3 s for the RV, then 504 ResourceVersionTooLarge
                    end = time.monotonic() + 3
                    while cursor > st.rv and time.monotonic() < end:
                        st.cond.wait(end - time.monotonic())
                    if cursor > st.rv:
                        raise too_large(cursor, st.rv)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with srv.ctl.lock:
            srv.ctl.watches_open += 1
            srv.ctl.watches_total += 1
        self.close_connection = True
        abort = False
        try:
            sent_cols = [False]

            def emit(etype, o):
                if etype in ("ERROR", "BOOKMARK"):
                    obj = o
                elif as_table:
                    obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                           "metadata": {"resourceVersion": o["metadata"]["resourceVersion"]},
                           "rows": [table_row(fns, out_obj(r, version, o), include)]}
                    if not sent_cols[0]:
                        obj["columnDefinitions"] = defs
                        sent_cols[0] = True
                    else:
                        obj["columnDefinitions"] = None
                elif view:
                    obj = view[2](o)
                else:
                    obj = out_obj(r, version, o)
                data = (dumps({"type": etype, "object": obj}) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            if expired:
                emit("ERROR", ApiError(410, "Expired", expired).status())
                return
            for o in initial:
                emit("ADDED", o)
            last_bm = time.monotonic()
            if bookmarks and (initial_events or rvp in ("", "0")):
                bm = {"kind": r.kind, "apiVersion": view[0].api_version(view[1]) if view else r.api_version(version),
                      "metadata": {"resourceVersion": str(cursor)}}
                if initial_events:
                    bm["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
                emit("BOOKMARK", bm)
            interval = srv.args.bookmark_interval
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                with st.cond:
                    if st.epoch == epoch and (not st.history or st.history[-1].rv <= cursor) \
                            and cursor >= st.compacted:
                        st.cond.wait(min(0.5, deadline - now))
                    if st.epoch != epoch:
                        abort = srv.ctl.drop_abort
                        return
                    if cursor < st.compacted:
                        expired = "too old resource version: %d (%d)" % (cursor, st.compacted + 1)
                        evs = []
                    else:
                        evs = []
                        for ev in reversed(st.history):
                            if ev.rv <= cursor:
                                break
                            if ev.key == r.key:
                                evs.append(ev)
                        evs.reverse()
                        cursor = st.rv
                if expired:
                    emit("ERROR", ApiError(410, "Expired", expired).status())
                    return
                for ev in evs:
                    n = match(ev.obj)
                    if ev.type == "MODIFIED":
                        o = ev.old is not None and match(ev.old)
                        etype = "MODIFIED" if n and o else ("ADDED" if n else ("DELETED" if o else None))
                    else:
                        etype = ev.type if n else None
                    if etype:
                        emit(etype, ev.obj)
                if bookmarks and time.monotonic() - last_bm >= interval:
                    emit("BOOKMARK", {"kind": r.kind, "apiVersion": view[0].api_version(view[1]) if view else r.api_version(version),
                                      "metadata": {"resourceVersion": str(cursor)}})
                    last_bm = time.monotonic()
                if not evs and self.client_gone():
                    abort = True
                    return
        except (BrokenPipeError, ConnectionError, ssl.SSLError, OSError):
            abort = True
        finally:
            with srv.ctl.lock:
                srv.ctl.watches_open -= 1
            if abort:
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                try:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except OSError:
                    pass

    def client_gone(self):
        c = self.connection
        if isinstance(c, ssl.SSLSocket):
            return False
        try:
            rd, _, _ = select.select([c], [], [], 0)
            if rd:
                return c.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False

    # control ---------------------------------------------------------------
    def control(self, method, what, body):
        srv = self.server
        ctl = srv.ctl
        try:
            arg = json.loads(body.decode() or "{}") if body else {}
        except ValueError:
            return self.send_json(400, {"error": "body must be JSON"})
        if not isinstance(arg, dict):
            return self.send_json(400, {"error": "body must be a JSON object"})
        if what == "stats" and method == "GET":
            with ctl.lock, srv.store.cond:
                stats = {
                    "requestsTotal": ctl.total, "byVerb": dict(ctl.by_verb), "byPath": dict(ctl.by_path),
                    "byCode": dict(ctl.by_code), "watchesOpen": ctl.watches_open,
                    "watchesTotal": ctl.watches_total, "faultsServed": ctl.faults_served,
                    "faultsPending": [dict(f) for f in ctl.faults], "latencyMs": ctl.latency_ms,
                    "resourceVersion": srv.store.rv, "compactedResourceVersion": srv.store.compacted,
                    "historyLength": len(srv.store.history),
                    "objects": sum(len(v) for v in srv.store.objs.values())}
            return self.send_json(200, stats)
        if method != "POST":
            return self.send_json(405, {"error": "use POST for %s" % what})
        if what == "drop-watches":
            with srv.store.cond:
                ctl.drop_abort = bool(arg.get("abort"))
                srv.store.epoch += 1
                srv.store.cond.notify_all()
            return self.send_json(200, {"dropped": ctl.watches_open})
        if what == "fail":
            try:
                f = {"count": int(arg.get("count", 1)), "code": int(arg.get("code", 500)),
                     "pathPrefix": str(arg.get("pathPrefix") or "/")}
                if arg.get("retryAfter") is not None:
                    f["retryAfter"] = int(arg["retryAfter"])
                if arg.get("verb"):
                    f["verb"] = str(arg["verb"])
                if arg.get("reason"):
                    f["reason"] = str(arg["reason"])
            except (TypeError, ValueError):
                return self.send_json(400, {"error": "count/code/retryAfter must be integers"})
            if not 400 <= f["code"] <= 599:
                return self.send_json(400, {"error": "code must be 4xx or 5xx"})
            with ctl.lock:
                ctl.faults.append(f)
            return self.send_json(200, {"queued": f})
        if what == "compact":
            srv.store.compact()
            return self.send_json(200, {"compactedResourceVersion": srv.store.compacted})
        if what == "latency":
            try:
                ms = int(arg.get("ms", 0))
            except (TypeError, ValueError):
                return self.send_json(400, {"error": "ms must be an integer"})
            with ctl.lock:
                ctl.latency_ms = max(0, ms)
            return self.send_json(200, {"latencyMs": ctl.latency_ms})
        if what == "reset":
            with ctl.lock:
                ctl.faults = []
                ctl.latency_ms = 0
                if arg.get("stats"):
                    ctl.by_verb.clear()
                    ctl.by_path.clear()
                    ctl.by_code.clear()
                    ctl.total = ctl.faults_served = ctl.watches_total = 0
            return self.send_json(200, {"reset": True})
        return self.send_json(404, {"error": "unknown control endpoint %s" % what})


EVENT_RENAMES = [("regarding", "involvedObject"), ("note", "message"), ("reportingController", "reportingComponent"),
                 ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
                 ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count")]
EVENT_SAME = ("metadata", "eventTime", "series", "reportingInstance", "action", "reason", "type", "related")


def event_to_view(o):
    """core/v1 Event -> events.k8s.io/v1 Event."""
    v = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for k in EVENT_SAME:
        if k in o:
            v[k] = o[k]
    v.setdefault("eventTime", None)
    for vk, ck in EVENT_RENAMES:
        if ck in o:
            v[vk] = o[ck]
    return v


def event_to_core(v):
    """events.k8s.io/v1 Event -> core/v1 Event."""
    o = {"kind": "Event", "apiVersion": "v1"}
    for k in EVENT_SAME:
        if k in v and v[k] is not None:
            o[k] = v[k]
    for vk, ck in EVENT_RENAMES:
        if vk in v:
            o[ck] = v[vk]
    return o


def event_fields_to_core(sel):
    for vk, ck in EVENT_RENAMES:
        sel = re.sub(r"(^|,)\s*%s(?=[.=!])" % vk, lambda m, ck=ck: m.group(1) + ck, sel)
    return sel


def out_obj(r, version, obj):
    av = r.api_version(version)
    if obj.get("apiVersion") == av:
        return obj
    o = dict(obj)
    o["apiVersion"] = av
    return o


def aggregated_discovery(st, core):
    """apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (core) or /apis (all groups)."""
    items = []
    groups = [("", ["v1"])] if core else list(st.groups().items())
    for g, versions in groups:
        vers = []
        for v in versions:
            res = []
            for r in sorted((r for r in st.res.values() if r.group == g and v in r.versions), key=lambda x: x.plural):
                e = {"resource": r.plural, "responseKind": {"group": g, "version": v, "kind": r.kind},
                     "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                     "verbs": list(STD_VERBS)}
                if r.short:
                    e["shortNames"] = r.short
                if r.cats:
                    e["categories"] = r.cats
                subs = []
                if r.scale:
                    subs.append({"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                                 "verbs": ["get", "patch", "update"]})
                if r.status or r.key == ("", "namespaces"):
                    subs.append({"subresource": "status", "responseKind": {"group": g, "version": v, "kind": r.kind},
                                 "verbs": ["get", "patch", "update"]})
                if subs:
                    e["subresources"] = subs
                res.append(e)
            vers.append({"version": v, "resources": res, "freshness": "Current"})
        items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": vers})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def resource_list(rs):
    out = []
    for r in sorted(rs, key=lambda x: x.plural):
        e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": list(STD_VERBS)}
        if r.short:
            e["shortNames"] = r.short
        if r.cats:
            e["categories"] = r.cats
        out.append(e)
        if r.status or r.key == ("", "namespaces"):
            out.append({"name": r.plural + "/status", "singularName": "", "namespaced": r.namespaced,
                        "kind": r.kind, "verbs": ["get", "patch", "update"]})
        if r.scale:
            out.append({"name": r.plural + "/scale", "singularName": "", "namespaced": r.namespaced,
                        "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return out


def openapi_doc(rs, group, version):
    """A small OpenAPI v3 document: one schema per kind (CRD schemas when given) and the
    resource paths with their PATCH operations, which is what kubectl looks at."""
    schemas, paths = {}, {}
    prefix = "io.k8s.emulator" if not group else ".".join(reversed(group.split(".")))
    for r in rs:
        sname = "%s.%s.%s" % (prefix, version, r.kind)
        sch = None
        if r.crd and getattr(r, "schemas", None):
            sch = clone((r.schemas or {}).get(version) or {}) or None
        if sch is None:
            sch = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        sch.setdefault("type", "object")
        sch["x-kubernetes-group-version-kind"] = [{"group": group, "version": version, "kind": r.kind}]
        schemas[sname] = sch
        base = ("/api/v1" if not group else "/apis/%s/%s" % (group, version))
        item = base + ("/namespaces/{namespace}/%s/{name}" if r.namespaced else "/%s/{name}") % r.plural
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
        gvk = {"group": group, "version": version, "kind": r.kind}
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/" + sname}}}}
        # kubectl's query-param verifier looks for fieldValidation among the PATCH operation's own
        # parameters; a PATCH without a strategic-merge requestBody makes kubectl build
        # client-side apply patches from its compiled-in types (exact merge keys) instead.
        paths[item] = {
            "get": {"operationId": "read" + r.kind, "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk, "responses": {"200": ref}},
            "put": {"operationId": "replace" + r.kind, "x-kubernetes-action": "put",
                    "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {"200": ref}},
            "patch": {"operationId": "patch" + r.kind, "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {"200": ref}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION},
            "paths": paths, "components": {"schemas": schemas}}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        """Failed TLS handshakes and dropped connections are normal in tests: one line, no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, OSError)):
            if self.args.verbose:
                sys.stderr.write("emulator: %s: %s\n" % (client_address[0], exc))
            return
        super().handle_error(request, client_address)

    def openapi_hash(self, g, v):
        with self.store.cond:
            sig = ",".join(sorted("%s:%s:%s" % (r.plural, r.crd or "", len(dumps(getattr(r, "schemas", None) or {})))
                                  for r in self.store.res.values() if r.group == g and v in r.versions))
        import hashlib
        return hashlib.sha256(sig.encode()).hexdigest()[:32].upper()


# --------------------------------------------------------------------------- startup

def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def kubeconfig(args, port):
    scheme = "https" if args.tls_cert else "http"
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: emulator", "  cluster:",
             "    server: %s://127.0.0.1:%d" % (scheme, port)]
    if args.tls_cert:
        ca = args.tls_ca
        if ca:
            with open(ca, "rb") as f:
                lines.append("    certificate-authority-data: %s" % base64.b64encode(f.read()).decode())
        else:
            lines.append("    insecure-skip-tls-verify: true")
    lines += ["contexts:", "- name: emulator", "  context:", "    cluster: emulator", "    user: emulator",
              "    namespace: default", "current-context: emulator", "preferences: {}", "users:", "- name: emulator"]
    token = None
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = next((ln.strip() for ln in f if ln.strip()), None)
        except OSError:
            token = None
    if token:
        lines += ["  user:", "    token: %s" % token]
    else:
        lines += ["  user: {}"]
    return "\n".join(lines) + "\n"


def load_objects(api, path):
    """Preloads JSON-lines objects (no watch events; namespaces are created as needed)."""
    st = api.s
    n = 0
    kind_map = {}
    for r in st.res.values():
        for v in r.versions:
            kind_map[(r.api_version(v), r.kind)] = (r, v)
    with open(path, encoding="utf-8") as f, st.cond:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise SystemExit("emulator: %s:%d: invalid JSON: %s" % (path, ln, e))
            rv = kind_map.get((obj.get("apiVersion"), obj.get("kind")))
            if rv is None:
                raise SystemExit("emulator: %s:%d: unknown apiVersion/kind %s/%s" % (path, ln, obj.get("apiVersion"), obj.get("kind")))
            r, v = rv
            md = obj.setdefault("metadata", {})
            if not md.get("name"):
                raise SystemExit("emulator: %s:%d: metadata.name is required" % (path, ln))
            if r.namespaced:
                ns = md.setdefault("namespace", "default")
                if ("", ns) not in st.objs[("", "namespaces")]:
                    st.put_raw(st.res[("", "namespaces")], {
                        "apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
                    if api.args.system_objects:
                        api.ns_system_objects(ns, record=False)
            else:
                md.pop("namespace", None)
            api._defaults(r, obj)
            if r.crd:
                try:
                    obj = api._crd_schema(r, v, obj, {"fieldValidation": "Ignore"})
                except ApiError as e:
                    raise SystemExit("emulator: %s:%d: %s" % (path, ln, e.message))
            if r.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                api._crd_validate(obj)
                api._crd_status(obj)
            st.put_raw(r, obj)
            api._index(r, obj, True)
            if r.key == ("", "namespaces") and api.args.system_objects:
                api.ns_system_objects(md["name"], record=False)
            if r.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                api._crd_register(obj)
                for vv in st.res[(obj["spec"]["group"], obj["spec"]["names"]["plural"])].versions:
                    kind_map[(r.api_version(vv) if False else "%s/%s" % (obj["spec"]["group"], vv),
                              obj["spec"]["names"]["kind"])] = (st.res[(obj["spec"]["group"], obj["spec"]["names"]["plural"])], vv)
            n += 1
        st.compacted = st.rv
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(description="Kubernetes API emulator (loopback only)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    ap.add_argument("--port-file", help="write the bound port here (atomically) once ready")
    ap.add_argument("--token-file", help="require 'Authorization: Bearer <a line of this file>' (re-read per request)")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="private key for --tls-cert (PEM)")
    ap.add_argument("--tls-ca", help="CA certificate to embed in --kubeconfig-out (else insecure-skip-tls-verify)")
    ap.add_argument("--history", type=int, default=1000, help="watch event history length (default 1000)")
    ap.add_argument("--kubeconfig-out", help="write a kubeconfig for this server here")
    ap.add_argument("--load", help="preload objects from a JSON-lines file")
    ap.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between watch bookmarks")
    ap.add_argument("--system-objects", action="store_true",
                    help='every namespace gets ServiceAccount "default" and ConfigMap "kube-root-ca.crt", as on a real cluster')
    ap.add_argument("--controllers", action="store_true",
                    help="minimal controllers: workloads report all replicas ready, pods run, jobs complete")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    store = Store(args.history)
    api = Api(store, args)
    if args.system_objects:
        with store.cond:
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                api.ns_system_objects(ns, record=False)
            store.compacted = store.rv
    if args.load:
        n = load_objects(api, args.load)
        if args.verbose:
            sys.stderr.write("emulator: loaded %d objects\n" % n)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args, srv.store, srv.api, srv.ctl = args, store, api, Control()
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    port = srv.server_address[1]
    if args.kubeconfig_out:
        write_atomic(args.kubeconfig_out, kubeconfig(args, port))
    if args.port_file:
        write_atomic(args.port_file, "%d\n" % port)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
