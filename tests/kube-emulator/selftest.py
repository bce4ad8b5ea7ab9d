#!/usr/bin/python3
"""Protocol-level checks of the emulator (what kubectl does not exercise): auth and token
rotation, TLS, fault injection, watch replay/410/bookmarks/selectors/timeouts, pagination,
generation and status rules, conflicts, finalizers, garbage collection, namespaces, --load.

Usage: selftest.py [--quick]   (prints "ok: ..." / "FAIL: ..." lines; exit 1 on any failure)
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.join(HERE, "emulator.py")
FAILS = []


def check(what, cond, detail=""):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s %s" % (what, detail))
        FAILS.append(what)


class Emu:
    def __init__(self, tmp, *args):
        self.dir = tempfile.mkdtemp(dir=tmp)
        pf = os.path.join(self.dir, "port")
        self.args = list(args)
        self.proc = subprocess.Popen([sys.executable, EMU, "--port-file", pf,
                                      "--kubeconfig-out", os.path.join(self.dir, "kubeconfig")] + self.args,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        for _ in range(400):
            if os.path.exists(pf) and open(pf).read().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited: " + open(os.path.join(self.dir, "log")).read())
            time.sleep(0.025)
        self.port = int(open(pf).read())
        self.tls = "--tls-cert" in args
        self.token = None
        self.ctx = None

    def conn(self, timeout=10):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=self.ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def req(self, method, path, body=None, ctype="application/json", headers=None, token=None):
        c = self.conn()
        h = dict(headers or {})
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = ctype
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            js = json.loads(raw) if raw else None
        except ValueError:
            js = raw.decode(errors="replace")
        return r.status, js, r

    def ctl(self, what, body=None):
        return self.req("POST" if what != "stats" else "GET", "/emulator/v1/" + what,
                        body if body is not None else ({} if what != "stats" else None), token="")[1]

    def watch(self, path, max_events=100, timeout=10, until=None):
        """Reads watch events until the stream ends, max_events arrive, or until(ev) is true."""
        c = self.conn(timeout=timeout)
        h = {"Authorization": "Bearer " + self.token} if self.token else {}
        c.request("GET", path, headers=h)
        r = c.getresponse()
        evs = []
        if r.status != 200:
            return r.status, [json.loads(r.read())]
        while len(evs) < max_events:
            line = r.fp.readline() if False else r.readline()
            if not line:
                break
            evs.append(json.loads(line))
            if until and until(evs[-1]):
                break
        c.close()
        return 200, evs

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def cm(name, ns="default", labels=None, data=None, **md):
    m = {"name": name, "namespace": ns}
    if labels:
        m["labels"] = labels
    m.update(md)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data or {"k": "v"}}


CMS = "/api/v1/namespaces/default/configmaps"
DEPS = "/apis/apps/v1/namespaces/default/deployments"


def t_auth(tmp):
    tf = os.path.join(tmp, "tokens")
    with open(tf, "w") as f:
        f.write("tok-1\n")
    e = Emu(tmp, "--token-file", tf)
    try:
        st, js, _ = e.req("GET", "/api/v1/namespaces")
        check("auth: no token → 401 Status Unauthorized", st == 401 and js["kind"] == "Status" and js["reason"] == "Unauthorized", js)
        st, _, _ = e.req("GET", "/api/v1/namespaces", token="tok-1")
        check("auth: valid token → 200", st == 200)
        with open(tf, "w") as f:
            f.write("tok-2\n")
        st1, _, _ = e.req("GET", "/api/v1/namespaces", token="tok-1")
        st2, _, _ = e.req("GET", "/api/v1/namespaces", token="tok-2")
        check("auth: rotated token file re-read (old 401, new 200)", st1 == 401 and st2 == 200, (st1, st2))
        st, _, _ = e.req("GET", "/emulator/v1/stats", token="")
        check("auth: control endpoint needs no token", st == 200)
        kc = open(os.path.join(e.dir, "kubeconfig")).read()
        check("auth: kubeconfig carries the first token", "token: tok-1" in kc, kc)
    finally:
        e.stop()


def t_tls(tmp):
    if not shutil.which("openssl"):
        print("ok: tls skipped (no openssl)")
        return
    ca_key, ca_crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
    key, csr, crt = os.path.join(tmp, "srv.key"), os.path.join(tmp, "srv.csr"), os.path.join(tmp, "srv.crt")
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    q = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
                    "-days", "2", "-subj", "/CN=emulator-test-ca"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=127.0.0.1"], **q)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", crt, "-days", "2", "-extfile", ext], **q)
    e = Emu(tmp, "--tls-cert", crt, "--tls-key", key, "--tls-ca", ca_crt)
    try:
        e.ctx = ssl.create_default_context(cafile=ca_crt)
        st, js, _ = e.req("GET", "/version")
        check("tls: verified HTTPS with the test CA", st == 200 and js["gitVersion"].startswith("v1."), js)
        e.ctx = ssl.create_default_context()
        try:
            e.req("GET", "/version")
            check("tls: wrong CA rejected", False)
        except ssl.SSLError:
            check("tls: wrong CA rejected", True)
        kc = open(os.path.join(e.dir, "kubeconfig")).read()
        check("tls: kubeconfig has https server and CA data",
              "server: https://127.0.0.1:%d" % e.port in kc and "certificate-authority-data: " in kc)
    finally:
        e.stop()


def t_faults(e):
    r = e.ctl("fail", {"count": 2, "code": 429, "retryAfter": 3, "pathPrefix": CMS})
    check("fault: queued", r["queued"]["count"] == 2, r)
    st0, _, _ = e.req("GET", "/api/v1/namespaces")
    st1, js1, r1 = e.req("GET", CMS)
    st2, _, _ = e.req("GET", CMS + "/x")
    st3, _, _ = e.req("GET", CMS)
    check("fault: 429 only on the matching prefix, twice, with Retry-After + Status",
          st0 == 200 and st1 == 429 and st2 == 429 and st3 == 200 and r1.getheader("Retry-After") == "3"
          and js1["reason"] == "TooManyRequests" and js1["details"]["retryAfterSeconds"] == 3, (st0, st1, st2, st3, js1))
    e.ctl("fail", {"count": 1, "code": 500, "verb": "create"})
    st1, _, _ = e.req("GET", CMS)
    st2, js2, _ = e.req("POST", CMS, cm("f1"))
    st3, _, _ = e.req("POST", CMS, cm("f1"))
    check("fault: 500 filtered by verb", st1 == 200 and st2 == 500 and js2["reason"] == "InternalError" and st3 == 201,
          (st1, st2, st3))
    e.ctl("latency", {"ms": 300})
    t0 = time.monotonic()
    e.req("GET", CMS)
    dt = time.monotonic() - t0
    e.ctl("reset")
    t1 = time.monotonic()
    e.req("GET", CMS)
    dt2 = time.monotonic() - t1
    check("fault: latency added then reset", dt >= 0.3 and dt2 < 0.25, (dt, dt2))
    s = e.ctl("stats")
    check("stats: counts by verb and code", s["byVerb"].get("create", 0) >= 2 and s["byCode"].get("429") == 2, s)


def t_crud(e):
    st, js, _ = e.req("POST", CMS, cm("a", labels={"app": "x"}))
    check("create: 201 with uid/rv/creationTimestamp, no generation for ConfigMap",
          st == 201 and js["metadata"]["uid"] and js["metadata"]["resourceVersion"] and js["metadata"]["creationTimestamp"]
          and "generation" not in js["metadata"], js)
    st, js, _ = e.req("POST", CMS, cm("a"))
    check("create: duplicate → 409 AlreadyExists Status", st == 409 and js == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "a" already exists', "reason": "AlreadyExists",
        "details": {"name": "a", "kind": "configmaps"}, "code": 409}, js)
    st, js, _ = e.req("GET", CMS + "/nope")
    check("get: missing → 404 NotFound Status", st == 404 and js["message"] == 'configmaps "nope" not found'
          and js["details"] == {"name": "nope", "kind": "configmaps"}, js)
    st, js, _ = e.req("GET", DEPS + "/nope")
    check("get: NotFound details carry the group", js["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
          and js["message"] == 'deployments.apps "nope" not found', js)
    st, js, _ = e.req("POST", "/api/v1/namespaces/ghost/configmaps", cm("a", ns="ghost"))
    check("create: missing namespace → 404", st == 404 and js["message"] == 'namespaces "ghost" not found', js)
    st, js, _ = e.req("GET", "/api/v1/namespaces/ghost/configmaps")
    check("list: missing namespace → empty list", st == 200 and js["items"] == [], js)
    st, js, _ = e.req("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}})
    check("create: generateName", st == 201 and js["metadata"]["name"].startswith("gen-") and len(js["metadata"]["name"]) == 9, js)
    st, js, _ = e.req("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}})
    check("create: invalid name → 422 Invalid", st == 422 and js["reason"] == "Invalid", js)
    st, js, _ = e.req("POST", CMS, b"\x0a\x02k8s", ctype="application/vnd.kubernetes.protobuf")
    check("create: protobuf → 415", st == 415 and js["reason"] == "UnsupportedMediaType", js)
    # update / conflict / no-op
    _, cur, _ = e.req("GET", CMS + "/a")
    stale = json.loads(json.dumps(cur))
    cur["data"] = {"k": "v2"}
    st, upd, _ = e.req("PUT", CMS + "/a", cur)
    check("update: 200 and new resourceVersion", st == 200 and upd["metadata"]["resourceVersion"] != cur["metadata"]["resourceVersion"])
    stale["data"] = {"k": "v3"}
    st, js, _ = e.req("PUT", CMS + "/a", stale)
    check("update: stale resourceVersion → 409 Conflict", st == 409 and js["reason"] == "Conflict"
          and "the object has been modified" in js["message"], js)
    st, same, _ = e.req("PUT", CMS + "/a", upd)
    check("update: no-op keeps the resourceVersion", st == 200 and same["metadata"]["resourceVersion"] == upd["metadata"]["resourceVersion"])
    del upd["metadata"]["resourceVersion"]
    upd["data"] = {"k": "v4"}
    st, _, _ = e.req("PUT", CMS + "/a", upd)
    check("update: without resourceVersion is unconditional", st == 200)
    st, js, _ = e.req("DELETE", CMS + "/a")
    check("delete: immediate deletion answers a Success Status", st == 200 and js["kind"] == "Status"
          and js["status"] == "Success" and js["details"]["name"] == "a" and js["details"]["kind"] == "configmaps", js)
    t0 = time.monotonic()
    wres = {}
    wt = threading.Thread(target=lambda: wres.update(w=e.watch(CMS + "?watch=1&resourceVersion=999999")))
    wt.start()
    st, js, _ = e.req("GET", CMS + "?resourceVersion=999999&resourceVersionMatch=NotOlderThan")
    wt.join(10)
    st2 = wres.get("w", (0,))[0]
    check("list/watch: resourceVersion ahead of the server → 504 ResourceVersionTooLarge after ~3 s",
          st == 504 and js["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge" and st2 == 504
          and 2.5 < time.monotonic() - t0 < 6, (st, st2, js))
    # dry run
    st, js, _ = e.req("POST", CMS + "?dryRun=All", cm("dry"))
    st2, _, _ = e.req("GET", CMS + "/dry")
    check("dryRun=All: answered, not stored", st == 201 and st2 == 404, (st, st2))
    # chunked request body
    c = e.conn()
    c.putrequest("POST", CMS)
    c.putheader("Content-Type", "application/json")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    body = json.dumps(cm("chunked")).encode()
    for part in (body[:10], body[10:]):
        c.send(b"%x\r\n%s\r\n" % (len(part), part))
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    r.read()
    c.close()
    check("create: chunked request body", r.status == 201, r.status)


def deployment(name, replicas=1, image="nginx", owner=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "c", "image": image}]}}}}
    return d


def t_generation_status(e):
    _, d, _ = e.req("POST", DEPS, dict(deployment("g"), status={"replicas": 9}))
    check("status: reset on create; generation 1", d["metadata"]["generation"] == 1 and d["status"].get("replicas") is None, d)
    st, d2, _ = e.req("PATCH", DEPS + "/g/status", {"status": {"replicas": 3, "observedGeneration": 1}},
                      ctype="application/merge-patch+json")
    check("status: /status patch changes status, not generation", st == 200 and d2["status"]["replicas"] == 3
          and d2["metadata"]["generation"] == 1, d2)
    st, d3, _ = e.req("PATCH", DEPS + "/g", {"metadata": {"labels": {"x": "y"}}, "status": {"replicas": 7}},
                      ctype="application/merge-patch+json")
    check("status: main-resource write ignores status; metadata change keeps generation",
          d3["status"]["replicas"] == 3 and d3["metadata"]["generation"] == 1 and d3["metadata"]["labels"] == {"x": "y"}, d3)
    st, d4, _ = e.req("PATCH", DEPS + "/g", {"spec": {"replicas": 2}}, ctype="application/merge-patch+json")
    check("generation: spec change bumps to 2", d4["metadata"]["generation"] == 2, d4["metadata"])
    d4["status"] = {"replicas": 1}
    d4["metadata"]["labels"] = {"changed": "yes"}
    st, d5, _ = e.req("PUT", DEPS + "/g/status", d4)
    check("status: PUT /status ignores metadata changes", st == 200 and d5["status"] == {"replicas": 1}
          and d5["metadata"]["labels"] == {"x": "y"}, d5)
    st, sc, _ = e.req("GET", DEPS + "/g/scale")
    check("scale: GET Scale", st == 200 and sc["kind"] == "Scale" and sc["spec"]["replicas"] == 2
          and sc["status"]["selector"] == "app=g", sc)
    st, sc, _ = e.req("PATCH", DEPS + "/g/scale", {"spec": {"replicas": 4}}, ctype="application/merge-patch+json")
    _, d6, _ = e.req("GET", DEPS + "/g")
    check("scale: PATCH sets spec.replicas, bumps generation", sc["spec"]["replicas"] == 4 and d6["spec"]["replicas"] == 4
          and d6["metadata"]["generation"] == 3, (sc, d6["metadata"]))


def t_patches(e):
    e.req("POST", DEPS, deployment("p"))
    sm = {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "E", "value": "1"}]},
                                                        {"name": "d", "image": "busybox"}]}}}}
    st, d, _ = e.req("PATCH", DEPS + "/p", sm, ctype="application/strategic-merge-patch+json")
    cs = d["spec"]["template"]["spec"]["containers"]
    check("strategic: containers merged by name", st == 200 and [c["name"] for c in cs] == ["c", "d"]
          and cs[0]["image"] == "nginx" and cs[0]["env"] == [{"name": "E", "value": "1"}], cs)
    st, d, _ = e.req("PATCH", DEPS + "/p", {"spec": {"template": {"spec": {"containers": [{"name": "d", "$patch": "delete"}]}}}},
                     ctype="application/strategic-merge-patch+json")
    check("strategic: $patch delete", [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["c"], d["spec"])
    st, d, _ = e.req("PATCH", DEPS + "/p", [{"op": "replace", "path": "/spec/replicas", "value": 6},
                                           {"op": "add", "path": "/metadata/labels", "value": {"a/b": "1"}},
                                           {"op": "add", "path": "/metadata/labels/c~1d", "value": "2"}],
                     ctype="application/json-patch+json")
    check("json patch: replace/add with escaped pointers", st == 200 and d["spec"]["replicas"] == 6
          and d["metadata"]["labels"] == {"a/b": "1", "c/d": "2"}, d.get("metadata"))
    st, js, _ = e.req("PATCH", DEPS + "/p", {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
                      ctype="application/merge-patch+json")
    check("merge patch: resourceVersion precondition → 409", st == 409, js)
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '1'\n  b: '2'\n"
    st, js, _ = e.req("PATCH", CMS + "/ssa?fieldManager=mgr1", body, ctype="application/apply-patch+yaml")
    yaml_ok = st == 201
    st, js, _ = e.req("PATCH", CMS + "/ssa?fieldManager=mgr1",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1", "b": "2"}},
                      ctype="application/apply-patch+yaml")
    check("apply: creates (YAML body when python3-yaml, JSON always)", yaml_ok or st == 201, (st, js))
    st, js, _ = e.req("PATCH", CMS + "/ssa?fieldManager=mgr1",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "3"}},
                      ctype="application/apply-patch+yaml")
    check("apply: field removed when the manager stops applying it", js["data"] == {"a": "3"}
          and js["metadata"]["managedFields"][0]["manager"] == "mgr1", js)
    st, js, _ = e.req("PATCH", CMS + "/ssa?fieldManager=other", {"data": {"a": "4", "z": "1"}},
                      ctype="application/merge-patch+json")
    mf = {(m["manager"], m["operation"]): m["fieldsV1"] for m in js["metadata"]["managedFields"]}
    check("managedFields: an Update takes the fields it changed from the applier",
          mf.get(("other", "Update")) == {"f:data": {"f:a": {}, "f:z": {}}} and mf.get(("mgr1", "Apply")) is None, mf)
    st, js, _ = e.req("PATCH", CMS + "/ssa?fieldManager=mgr1",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "5"}},
                      ctype="application/apply-patch+yaml")
    check("apply: conflict → 409 with FieldManagerConflict causes", st == 409 and js["details"]["causes"][0] == {
        "reason": "FieldManagerConflict", "message": 'conflict with "other" using v1', "field": ".data.a"}, js)
    st, js, _ = e.req("PATCH", CMS + "/ssa?fieldManager=mgr1&force=true",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "5"}},
                      ctype="application/apply-patch+yaml")
    mf = {(m["manager"], m["operation"]): m["fieldsV1"] for m in js["metadata"]["managedFields"]}
    check("apply: force takes ownership", st == 200 and js["data"] == {"a": "5", "z": "1"}
          and mf == {("other", "Update"): {"f:data": {"f:z": {}}}, ("mgr1", "Apply"): {"f:data": {"f:a": {}}}}, (st, js))
    st, js, _ = e.req("PATCH", CMS + "/ssa", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}},
                      ctype="application/apply-patch+yaml")
    check("apply: fieldManager required → 422", st == 422, js)


def t_finalizers_gc_ns(e):
    e.req("POST", CMS, cm("fin", finalizers=["x/y"]))
    st, js, _ = e.req("DELETE", CMS + "/fin")
    check("finalizer: delete marks deletionTimestamp, keeps object", st == 200 and js["metadata"].get("deletionTimestamp"), js)
    _, cur, _ = e.req("GET", CMS + "/fin")
    cur["metadata"]["finalizers"] = []
    st, _, _ = e.req("PUT", CMS + "/fin", cur)
    st2, _, _ = e.req("GET", CMS + "/fin")
    check("finalizer: removing the last finalizer deletes", st == 200 and st2 == 404, (st, st2))
    _, owner, _ = e.req("POST", DEPS, deployment("owner"))
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner", "uid": owner["metadata"]["uid"]}
    e.req("POST", CMS, cm("dep1", ownerReferences=[ref]))
    e.req("DELETE", DEPS + "/owner")
    st, _, _ = e.req("GET", CMS + "/dep1")
    check("gc: dependents deleted with their owner", st == 404, st)
    _, owner, _ = e.req("POST", DEPS, deployment("fg"))
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fg", "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}
    e.req("POST", CMS, cm("fgdep1", ownerReferences=[ref]))
    e.req("POST", CMS, cm("fgdep2", ownerReferences=[ref], finalizers=["x/y"]))
    st, js, _ = e.req("DELETE", DEPS + "/fg", {"propagationPolicy": "Foreground"})
    st1, o1, _ = e.req("GET", DEPS + "/fg")
    st2, _, _ = e.req("GET", CMS + "/fgdep1")
    check("gc: foreground deletion waits for dependents (foregroundDeletion finalizer)",
          st == 200 and st1 == 200 and o1["metadata"]["finalizers"] == ["foregroundDeletion"]
          and o1["metadata"].get("deletionTimestamp") and st2 == 404, (st1, o1["metadata"], st2))
    e.req("PATCH", CMS + "/fgdep2", {"metadata": {"finalizers": None}}, ctype="application/merge-patch+json")
    st3, _, _ = e.req("GET", DEPS + "/fg")
    check("gc: owner deleted once its last dependent is gone", st3 == 404, st3)
    _, owner, _ = e.req("POST", DEPS, deployment("orph"))
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orph", "uid": owner["metadata"]["uid"]}
    e.req("POST", CMS, cm("orphan1", ownerReferences=[ref]))
    e.req("DELETE", DEPS + "/orph?propagationPolicy=Orphan")
    st, js, _ = e.req("GET", CMS + "/orphan1")
    check("gc: Orphan keeps dependents and strips their ownerReference", st == 200 and "ownerReferences" not in js["metadata"], js)
    e.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmpns"}})
    e.req("POST", "/api/v1/namespaces/tmpns/configmaps", cm("in", ns="tmpns"))
    e.req("POST", "/api/v1/namespaces/tmpns/configmaps", cm("held", ns="tmpns", finalizers=["x/y"]))
    st, js, _ = e.req("DELETE", "/api/v1/namespaces/tmpns")
    st2, ns, _ = e.req("GET", "/api/v1/namespaces/tmpns")
    st3, _, _ = e.req("GET", "/api/v1/namespaces/tmpns/configmaps/in")
    check("namespace: delete → Terminating while a finalizer holds, contents deleted",
          st == 200 and st2 == 200 and ns["status"]["phase"] == "Terminating" and st3 == 404, (st, st2, st3, ns))
    st4, js4, _ = e.req("POST", "/api/v1/namespaces/tmpns/configmaps", cm("new", ns="tmpns"))
    check("namespace: create in terminating namespace → 403", st4 == 403, js4)
    e.req("PATCH", "/api/v1/namespaces/tmpns/configmaps/held", {"metadata": {"finalizers": None}},
          ctype="application/merge-patch+json")
    st5, _, _ = e.req("GET", "/api/v1/namespaces/tmpns")
    check("namespace: removed once empty", st5 == 404, st5)


def t_list(e):
    for i in range(7):
        e.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "l%d" % (i % 2)}})
        e.req("POST", "/api/v1/namespaces/l%d/configmaps" % (i % 2),
              cm("c%d" % i, ns="l%d" % (i % 2), labels={"i": str(i), "even": str(i % 2 == 0).lower()}))
    st, js, _ = e.req("GET", "/api/v1/configmaps?labelSelector=even%3Dtrue,i+notin+(0,2)")
    check("list: all namespaces + label selector (=, notin)", sorted(o["metadata"]["name"] for o in js["items"]) == ["c4", "c6"], js)
    check("list: built-in items carry no kind/apiVersion, list has kind", js["kind"] == "ConfigMapList"
          and "kind" not in js["items"][0], js["kind"])
    st, js, _ = e.req("GET", "/api/v1/configmaps?labelSelector=i%3E4,!nope")
    check("list: label selector (>, !key)", sorted(o["metadata"]["name"] for o in js["items"]) == ["c5", "c6"], js)
    st, js, _ = e.req("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dl1,metadata.name!%3Dc1")
    check("list: field selector", sorted(o["metadata"]["name"] for o in js["items"]) == ["c3", "c5"], js)
    st, js, _ = e.req("GET", "/api/v1/configmaps?labelSelector=i+in+(")
    check("list: bad selector → 400", st == 400, js)
    names, cont, pages = [], "", 0
    while True:
        st, js, _ = e.req("GET", "/api/v1/configmaps?labelSelector=i&limit=3" + ("&continue=" + cont if cont else ""))
        pages += 1
        names += [o["metadata"]["name"] for o in js["items"]]
        cont = js["metadata"].get("continue")
        if not cont or pages > 10:
            break
    check("list: limit/continue pagination", pages == 3 and sorted(names) == ["c%d" % i for i in range(7)], (pages, names))
    st, js, _ = e.req("GET", "/api/v1/configmaps?limit=2")
    e.ctl("compact")
    st, js2, _ = e.req("GET", "/api/v1/configmaps?limit=2&continue=" + js["metadata"]["continue"])
    check("list: continue token older than compaction → 410 Expired", st == 410 and js2["reason"] == "Expired", js2)
    st, tab, _ = e.req("GET", "/api/v1/namespaces/l0/configmaps", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    check("list: Table", tab["kind"] == "Table" and [c["name"] for c in tab["columnDefinitions"]] == ["Name", "Data", "Age"]
          and tab["rows"][0]["cells"][0] == "c0", tab)


def t_watch(e):
    _, lst, _ = e.req("GET", CMS)
    rv = lst["metadata"]["resourceVersion"]
    got = {}

    def bg():
        got["w"] = e.watch(CMS + "?watch=1&labelSelector=w%3Dyes&resourceVersion=" + rv + "&timeoutSeconds=3")
    t = threading.Thread(target=bg)
    t.start()
    time.sleep(0.3)
    e.req("POST", CMS, cm("w1", labels={"w": "yes"}))
    e.req("PATCH", CMS + "/w1", {"metadata": {"labels": {"w": "no"}}}, ctype="application/merge-patch+json")
    e.req("PATCH", CMS + "/w1", {"data": {"z": "1"}}, ctype="application/merge-patch+json")
    e.req("PATCH", CMS + "/w1", {"metadata": {"labels": {"w": "yes"}}}, ctype="application/merge-patch+json")
    e.req("DELETE", CMS + "/w1")
    t0 = time.monotonic()
    t.join(10)
    evs = got["w"][1]
    check("watch: selector transitions ADDED/DELETED/ADDED/DELETED, ends at timeoutSeconds",
          [x["type"] for x in evs] == ["ADDED", "DELETED", "ADDED", "DELETED"] and time.monotonic() - t0 < 4, evs)
    check("watch: events carry kind/apiVersion and increasing RVs",
          all(x["object"]["kind"] == "ConfigMap" for x in evs)
          and [int(x["object"]["metadata"]["resourceVersion"]) for x in evs] == sorted(int(x["object"]["metadata"]["resourceVersion"]) for x in evs))
    st, evs2 = e.watch(CMS + "?watch=1&resourceVersion=" + rv + "&timeoutSeconds=1")
    check("watch: replay from a resourceVersion", [x["type"] for x in evs2 if x["object"]["metadata"]["name"] == "w1"]
          == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"], evs2)
    st, evs3 = e.watch(CMS + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=3", until=lambda ev: ev["type"] == "BOOKMARK")
    check("watch: bookmark", evs3 and evs3[-1]["type"] == "BOOKMARK" and evs3[-1]["object"]["metadata"]["resourceVersion"], evs3[-1:])
    st, evs4 = e.watch(CMS + "?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=2",
                       until=lambda ev: ev["type"] == "BOOKMARK")
    check("watch: sendInitialEvents ends with the initial-events-end bookmark",
          evs4[-1]["object"]["metadata"].get("annotations") == {"k8s.io/initial-events-end": "true"}
          and all(x["type"] == "ADDED" for x in evs4[:-1]), evs4[-1:])
    e.ctl("compact")
    st, evs5 = e.watch(CMS + "?watch=1&resourceVersion=" + rv)
    check("watch: compacted resourceVersion → ERROR 410 Expired event", len(evs5) == 1 and evs5[0]["type"] == "ERROR"
          and evs5[0]["object"]["code"] == 410 and evs5[0]["object"]["reason"] == "Expired", evs5)
    got2 = {}

    def bg2():
        t1 = time.monotonic()
        got2["w"] = e.watch(CMS + "?watch=1&timeoutSeconds=30")
        got2["t"] = time.monotonic() - t1
    t = threading.Thread(target=bg2)
    t.start()
    for _ in range(50):
        if e.ctl("stats")["watchesOpen"] >= 1:
            break
        time.sleep(0.05)
    r = e.ctl("drop-watches")
    t.join(10)
    check("watch: drop-watches ends open streams", r["dropped"] >= 1 and got2.get("t", 99) < 5, (r, got2.get("t")))


def t_history(tmp):
    e = Emu(tmp, "--history", "5", "--system-objects")
    try:
        st1, _, _ = e.req("GET", "/api/v1/namespaces/default/serviceaccounts/default")
        e.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sys"}})
        st2, js, _ = e.req("GET", "/api/v1/namespaces/sys/configmaps/kube-root-ca.crt")
        check("--system-objects: default ServiceAccount and kube-root-ca.crt in every namespace",
              st1 == 200 and st2 == 200 and "ca.crt" in js["data"], (st1, st2))
        _, lst, _ = e.req("GET", CMS)
        rv = lst["metadata"]["resourceVersion"]
        for i in range(3):
            e.req("POST", CMS, cm("h%d" % i))
        st, evs = e.watch(CMS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
        check("history: replay within the bound", [x["type"] for x in evs] == ["ADDED"] * 3, evs)
        for i in range(3, 8):
            e.req("POST", CMS, cm("h%d" % i))
        st, evs = e.watch(CMS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
        check("history: beyond --history → 410", evs and evs[0]["type"] == "ERROR" and evs[0]["object"]["code"] == 410, evs)
    finally:
        e.stop()


def t_crd(e):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.ex.io"},
           "spec": {"group": "ex.io", "scope": "Cluster",
                    "names": {"plural": "things", "singular": "thing", "kind": "Thing", "shortNames": ["th"]},
                    "versions": [{"name": "v1beta1", "served": True, "storage": False},
                                 {"name": "v1", "served": True, "storage": True,
                                  "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.n", "statusReplicasPath": ".status.n"}},
                                  "additionalPrinterColumns": [{"name": "N", "type": "integer", "jsonPath": ".spec.n"}]}]}}
    st, js, _ = e.req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    conds = {c["type"]: c["status"] for c in js.get("status", {}).get("conditions", [])}
    check("crd: created with Established/NamesAccepted", st == 201 and conds == {"Established": "True", "NamesAccepted": "True"}, js)
    st, g, _ = e.req("GET", "/apis/ex.io")
    check("crd: discovery group, preferred v1", st == 200 and g["preferredVersion"]["version"] == "v1"
          and [v["version"] for v in g["versions"]] == ["v1", "v1beta1"], g)
    st, rl, _ = e.req("GET", "/apis/ex.io/v1")
    names = {r["name"]: r for r in rl["resources"]}
    check("crd: resource list with status and scale subresources", set(names) == {"things", "things/status", "things/scale"}
          and names["things"]["namespaced"] is False and names["things"]["shortNames"] == ["th"], rl)
    crd2 = json.loads(json.dumps(crd))
    crd2["metadata"]["name"] = "gizmos.ex.io"
    crd2["spec"]["names"] = {"plural": "gizmos", "kind": "Gizmo"}
    crd2["spec"]["versions"] = [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}, "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {
            "spec": {"type": "object", "required": ["n"], "properties": {
                "n": {"type": "integer", "maximum": 5}, "mode": {"type": "string", "default": "auto"},
                "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string", "pattern": "^[a-z]+$"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "min": {"type": "integer"}, "max": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "!has(self.min) || !has(self.max) || self.min <= self.max",
                                              "message": "min must not exceed max"},
                                             {"rule": "self.tags.all(t, t.k.size() < 4)"}]},
            "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}]
    st, js, _ = e.req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd2)
    g = lambda body, q="": e.req("POST", "/apis/ex.io/v1/gizmos" + q, dict({"apiVersion": "ex.io/v1", "kind": "Gizmo"}, **body))
    st, js, r = g({"metadata": {"name": "g1"}, "spec": {"n": 1, "x": 1, "tags": [{"k": "a", "y": 2}], "free": {"any": {"thing": 1}},
                                                       "labels": {"a": "b"}}})
    check("schema: unknown fields pruned with a Warning, defaults applied, preserve-unknown kept",
          st == 201 and js["spec"] == {"n": 1, "mode": "auto", "tags": [{"k": "a"}], "free": {"any": {"thing": 1}}, "labels": {"a": "b"}}
          and 'unknown field \\"spec.x\\"' in (r.getheader("Warning") or ""), (st, js, r.getheader("Warning")))
    st, js, _ = g({"metadata": {"name": "g2"}, "spec": {"n": 1, "x": 1}}, "?fieldValidation=Strict")
    check("schema: fieldValidation=Strict → 400 strict decoding error", st == 400 and 'unknown field "spec.x"' in js["message"], js)
    st, js, _ = g({"metadata": {"name": "g3"}, "spec": {"n": "one", "tags": [{"k": "A"}], "labels": {"a": 1}}})
    fields = sorted(c["field"] for c in js.get("details", {}).get("causes", []))
    check("schema: type/pattern violations → 422 with causes", st == 422 and fields == ["spec.labels.a", "spec.n", "spec.tags[0].k"], js)
    st, js, _ = g({"metadata": {"name": "g5"}, "spec": {"n": 1, "min": 3, "max": 2, "tags": [{"k": "abcd"}]}})
    check("schema: CEL rules (message, failed rule)", st == 422 and 'spec: Invalid value: "object": min must not exceed max' in js["message"]
          and "failed rule: self.tags.all(t, t.k.size() < 4)" in js["message"], js)
    st, js, _ = g({"metadata": {"name": "g6"}, "spec": {"n": 1, "min": 1}})
    check("schema: CEL rule outside the subset / missing field is skipped, valid object accepted", st == 201, js)
    st, js, _ = g({"metadata": {"name": "g4"}, "spec": {"mode": "x"}})
    check("schema: required → 422 Required value", st == 422 and "spec.n: Required value" in js["message"], js)
    st, js, _ = e.req("PATCH", "/apis/ex.io/v1/gizmos/g1/status", {"status": {"ok": True, "junk": 1}}, ctype="application/merge-patch+json")
    check("schema: status writes pruned too", st == 200 and js["status"] == {"ok": True}, js)
    st, js, _ = e.req("POST", "/apis/ex.io/v1/things", {"apiVersion": "ex.io/v1", "kind": "Thing", "metadata": {"name": "t1"},
                                                         "spec": {"n": 1}, "status": {"n": 5}})
    check("crd: CR created, status dropped, generation 1", st == 201 and "status" not in js and js["metadata"]["generation"] == 1, js)
    st, js, _ = e.req("GET", "/apis/ex.io/v1beta1/things/t1")
    check("crd: served under every version", st == 200 and js["apiVersion"] == "ex.io/v1beta1", js)
    st, js, _ = e.req("GET", "/apis/ex.io/v1/things")
    check("crd: CR list items carry kind", js["items"][0]["kind"] == "Thing", js)
    cur = js["items"][0]
    del cur["metadata"]["resourceVersion"]
    st, js, _ = e.req("PUT", "/apis/ex.io/v1/things/t1", cur)
    check("crd: PUT without resourceVersion → 422 (custom resources)", st == 422, js)
    st, js, _ = e.req("PATCH", "/apis/ex.io/v1/things/t1", {"spec": {"n": 2}}, ctype="application/strategic-merge-patch+json")
    check("crd: strategic merge patch → 415", st == 415, js)
    st, js, _ = e.req("PATCH", "/apis/ex.io/v1/things/t1/scale", {"spec": {"replicas": 3}}, ctype="application/merge-patch+json")
    _, t1, _ = e.req("GET", "/apis/ex.io/v1/things/t1")
    check("crd: scale subresource via specReplicasPath", st == 200 and t1["spec"]["n"] == 3 and t1["metadata"]["generation"] == 2, (js, t1))
    st, tab, _ = e.req("GET", "/apis/ex.io/v1/things", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    check("crd: Table with printer columns", [c["name"] for c in tab["columnDefinitions"]] == ["Name", "N", "Age"]
          and tab["rows"][0]["cells"][:2] == ["t1", 3], tab)
    acc = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    st, agg, r = e.req("GET", "/apis", headers={"Accept": acc})
    grp = {i["metadata"]["name"]: i for i in agg.get("items", [])}
    things = {x["resource"]: x for v in grp.get("ex.io", {}).get("versions", []) if v["version"] == "v1" for x in v["resources"]}
    check("aggregated discovery (apidiscovery.k8s.io/v2) lists the CRD with subresources",
          r.getheader("Content-Type").startswith("application/json;g=apidiscovery.k8s.io;v=v2") and "apps" in grp
          and things.get("things", {}).get("scope") == "Cluster"
          and sorted(x["subresource"] for x in things["things"].get("subresources", [])) == ["scale", "status"], agg.get("items", [])[:1])
    st, plain, r = e.req("GET", "/apis")
    check("plain discovery without the aggregated Accept", plain["kind"] == "APIGroupList", plain.get("kind"))
    st, idx, _ = e.req("GET", "/openapi/v3")
    check("openapi v3: index lists the CRD group", "apis/ex.io/v1" in idx["paths"], list(idx["paths"])[:5])
    e.req("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.ex.io")
    e.req("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.ex.io")
    st, _, _ = e.req("GET", "/apis/ex.io/v1/things/t1")
    st2, _, _ = e.req("GET", "/apis/ex.io")
    check("crd: deleting the CRD removes its resources", st == 404 and st2 == 404, (st, st2))


def t_events(e):
    EV = "/apis/events.k8s.io/v1/namespaces/default/events"
    CE = "/api/v1/namespaces/default/events"
    _, lst, _ = e.req("GET", CE)
    rv = lst["metadata"]["resourceVersion"]
    st, js, _ = e.req("POST", EV, {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
                                   "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "dhg",
                                   "reportingInstance": "dhg-0", "action": "Generate", "reason": "Generated",
                                   "type": "Normal", "note": "chart written",
                                   "regarding": {"kind": "HelmChart", "name": "x", "namespace": "default"}})
    check("events.k8s.io: create answers the events.k8s.io form", st == 201 and js["note"] == "chart written"
          and js["apiVersion"] == "events.k8s.io/v1", js)
    st, core, _ = e.req("GET", CE + "/e1")
    check("events.k8s.io: same object through core/v1 (message, involvedObject, reportingComponent)",
          st == 200 and core["message"] == "chart written" and core["involvedObject"]["name"] == "x"
          and core["reportingComponent"] == "dhg", core)
    e.req("POST", CE, {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e2"}, "message": "core made",
                       "reason": "R", "type": "Warning", "involvedObject": {"kind": "Pod", "name": "p"}, "count": 2})
    st, lst2, _ = e.req("GET", EV + "?fieldSelector=regarding.name%3Dp")
    check("events.k8s.io: core event listed with field selector on regarding.name",
          [(i["metadata"]["name"], i["note"], i["deprecatedCount"]) for i in lst2["items"]] == [("e2", "core made", 2)], lst2)
    st, js, _ = e.req("PATCH", EV + "/e2", {"note": "patched"}, ctype="application/merge-patch+json")
    st2, core2, _ = e.req("GET", CE + "/e2")
    check("events.k8s.io: merge patch in the new form changes the core message", js["note"] == "patched"
          and core2["message"] == "patched", (js, core2))
    st, evs = e.watch(EV + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
    check("events.k8s.io: watch delivers converted events", [(x["type"], x["object"]["apiVersion"]) for x in evs]
          == [("ADDED", "events.k8s.io/v1")] * 2 + [("MODIFIED", "events.k8s.io/v1")], evs)


def t_load(tmp, n):
    path = os.path.join(tmp, "load.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            ns = "load%d" % (i % 10)
            kind = i % 3
            if kind == 0:
                o = deployment("d%d" % i)
                o["metadata"]["namespace"] = ns
                o["metadata"]["labels"] = {"app": "d%d" % i, "tier": "web"}
            elif kind == 1:
                o = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s%d" % i, "namespace": ns, "labels": {"tier": "web"}},
                     "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}
            else:
                o = cm("c%d" % i, ns=ns, labels={"tier": "db"}, data={"k": "v" * 200})
            f.write(json.dumps(o) + "\n")
    t0 = time.monotonic()
    e = Emu(tmp, "--load", path)
    dt = time.monotonic() - t0
    try:
        st, js, _ = e.req("GET", "/apis/apps/v1/deployments?labelSelector=tier%3Dweb")
        rss = 0
        try:
            for line in open("/proc/%d/status" % e.proc.pid):
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) // 1024
        except OSError:
            pass
        check("load: %d objects preloaded in %.1fs (RSS %d MB), listable" % (n, dt, rss),
              st == 200 and len(js["items"]) == (n + 2) // 3, len(js.get("items", [])))
        st, evs = e.watch("/api/v1/services?watch=1&timeoutSeconds=1&resourceVersion=" + js["metadata"]["resourceVersion"])
        check("load: no watch events for preloaded objects", evs == [], evs[:2])
    finally:
        e.stop()


def t_patch_units():
    sys.path.insert(0, HERE)
    import patches as P
    import cel
    o = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}
    check("unit merge patch: null deletes, objects merge, lists replace",
          P.merge_patch(o, {"a": None, "b": {"c": 9}, "l": [3]}) == {"b": {"c": 9, "d": 3}, "l": [3]})
    check("unit json patch: move/copy/test/remove with '-' append",
          P.json_patch(o, [{"op": "copy", "from": "/b/c", "path": "/e"}, {"op": "move", "from": "/a", "path": "/l/-"},
                           {"op": "test", "path": "/e", "value": 2}, {"op": "remove", "path": "/b/d"}])
          == {"b": {"c": 2}, "l": [1, 2, 1], "e": 2})
    try:
        P.json_patch(o, [{"op": "replace", "path": "/nope", "value": 1}])
        check("unit json patch: replace of a missing key fails", False)
    except P.PatchError:
        check("unit json patch: replace of a missing key fails", True)
    strat = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    check("unit strategic: $retainKeys",
          P.strategic_merge({"strategy": strat}, {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}})
          == {"strategy": {"type": "Recreate"}})
    check("unit strategic: $patch replace on a map",
          P.strategic_merge({"m": {"a": 1, "b": 2}}, {"m": {"$patch": "replace", "c": 3}}) == {"m": {"c": 3}})
    svc = {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}
    check("unit strategic: service ports merged by port",
          P.strategic_merge(svc, {"ports": [{"port": 443, "targetPort": 8443}]})["ports"]
          == [{"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": 8443}])
    ctr = {"containers": [{"name": "c", "ports": [{"containerPort": 80}], "volumeMounts": [{"mountPath": "/a", "name": "v"}]}]}
    r = P.strategic_merge(ctr, {"containers": [{"name": "c", "ports": [{"containerPort": 81}],
                                                "volumeMounts": [{"mountPath": "/a", "$patch": "delete"}]}]})
    check("unit strategic: container ports by containerPort, volumeMounts by mountPath",
          r["containers"][0]["ports"] == [{"containerPort": 81}, {"containerPort": 80}] and r["containers"][0]["volumeMounts"] == [], r)
    check("unit strategic: finalizers merged as a set, $deleteFromPrimitiveList",
          P.strategic_merge({"metadata": {"finalizers": ["a", "b"]}},
                            {"metadata": {"finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]}})
          == {"metadata": {"finalizers": ["a", "c"]}})
    check("unit strategic: list item $patch replace replaces the list",
          P.strategic_merge({"env": [{"name": "A"}]}, {"env": [{"$patch": "replace"}, {"name": "B"}]}) == {"env": [{"name": "B"}]})
    check("unit cel: ternary arithmetic, macros, in, strings",
          cel.evaluate("(has(self.a) ? 1 : 0) + size(self.l) == 3 && self.l.exists(x, x == 'p') && 'q' in self.l "
                       "&& self.s.startsWith('ab') && !self.s.matches('^z')", {"a": 1, "l": ["p", "q"], "s": "abc"}))
    try:
        cel.evaluate("self.missing > 1", {})
        check("unit cel: missing field raises (rule skipped)", False)
    except cel.CelError:
        check("unit cel: missing field raises (rule skipped)", True)


def main():
    quick = "--quick" in sys.argv
    tmp = tempfile.mkdtemp(prefix="emu-selftest.")
    try:
        t_patch_units()
        t_auth(tmp)
        t_tls(tmp)
        e = Emu(tmp, "--bookmark-interval", "0.5")
        try:
            t_faults(e)
            t_crud(e)
            t_generation_status(e)
            t_patches(e)
            t_finalizers_gc_ns(e)
            t_list(e)
            t_watch(e)
            t_crd(e)
            t_events(e)
        finally:
            e.stop()
        t_history(tmp)
        t_load(tmp, 1000 if quick else 10000)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("selftest: %d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
