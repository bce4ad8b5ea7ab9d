#!/usr/bin/python3
"""Policy checks on rendered Kubernetes manifests (read from files or stdin).

  k8s_policy.py pss-restricted FILE...   every pod spec meets the Pod Security Standards "restricted" profile
  k8s_policy.py rbac-no-wildcards FILE... no Role/ClusterRole rule uses "*" in apiGroups, resources or verbs
  k8s_policy.py kinds FILE...             prints "Kind namespace/name" per object (for assertions)

Exit 0 when every check holds; 1 with one line per violation otherwise.
"""
import sys
import yaml

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def load(paths):
    docs = []
    for p in paths or ["-"]:
        text = sys.stdin.read() if p == "-" else open(p).read()
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def pod_specs(obj):
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        yield spec
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        yield (spec.get("template") or {}).get("spec") or {}
    elif kind == "CronJob":
        yield (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}


def pss_restricted(obj):
    errs = []
    name = f'{obj.get("kind")} {obj["metadata"].get("name")}'
    for ps in pod_specs(obj):
        psc = ps.get("securityContext") or {}
        for f in ("hostNetwork", "hostPID", "hostIPC"):
            if ps.get(f):
                errs.append(f"{name}: spec.{f} must not be true")
        for v in ps.get("volumes") or []:
            types = set(v) - {"name"}
            if not types <= ALLOWED_VOLUMES:
                errs.append(f"{name}: volume {v.get('name')} uses {sorted(types - ALLOWED_VOLUMES)}")
        pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
        for c in (ps.get("initContainers") or []) + (ps.get("containers") or []):
            csc = c.get("securityContext") or {}
            where = f"{name}: container {c.get('name')}"
            if csc.get("privileged"):
                errs.append(f"{where}: privileged")
            if csc.get("allowPrivilegeEscalation") is not False:
                errs.append(f"{where}: allowPrivilegeEscalation must be false")
            caps = csc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                errs.append(f"{where}: capabilities.drop must include ALL")
            if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
                errs.append(f"{where}: capabilities.add beyond NET_BIND_SERVICE")
            non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            if non_root is not True:
                errs.append(f"{where}: runAsNonRoot must be true")
            if csc.get("runAsUser", psc.get("runAsUser")) == 0:
                errs.append(f"{where}: runAsUser 0")
            seccomp = (csc.get("seccompProfile") or {}).get("type") or pod_seccomp
            if seccomp not in ("RuntimeDefault", "Localhost"):
                errs.append(f"{where}: seccompProfile.type must be RuntimeDefault or Localhost")
            for p in c.get("ports") or []:
                if p.get("hostPort"):
                    errs.append(f"{where}: hostPort")
    return errs


def rbac_no_wildcards(obj):
    errs = []
    if obj.get("kind") not in ("Role", "ClusterRole"):
        return errs
    for i, r in enumerate(obj.get("rules") or []):
        for f in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
            if "*" in (r.get(f) or []):
                errs.append(f'{obj["kind"]} {obj["metadata"]["name"]}: rules[{i}].{f} contains "*"')
    return errs


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd, paths = sys.argv[1], sys.argv[2:]
    docs = load(paths)
    if cmd == "kinds":
        for d in docs:
            print(f'{d.get("kind")} {d["metadata"].get("namespace", "")}/{d["metadata"].get("name")}')
        return 0
    check = {"pss-restricted": pss_restricted, "rbac-no-wildcards": rbac_no_wildcards}.get(cmd)
    if not check:
        print(f"unknown check {cmd}", file=sys.stderr)
        return 2
    errs = [e for d in docs for e in check(d)]
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
