#!/usr/bin/env python3
"""Drift latency for bench/operator.sh: N times, PATCH the image of Deployment shop/shop-web
through the API emulator and wait until the operator has written the change, seen as a new line
in a local writer's <name>.versions file, or as a moved refs/heads/main of a bare git repository.
Prints "p50 p99 max" in seconds.

Usage: drift_latency.py URL N TAG_MAJOR --versions FILE | --git-repo DIR
"""
import json
import subprocess
import sys
import time
import urllib.request


def main():
    url, n, major, mode, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    if mode == "--versions":
        def state():
            with open(target) as f:
                return sum(1 for _ in f)
        limit, poll, pause, what = 10, 0.002, 0.02, "written"
    elif mode == "--git-repo":
        def state():
            return subprocess.run(["git", "-C", target, "rev-parse", "-q", "--verify", "refs/heads/main"],
                                  capture_output=True, text=True).stdout.strip()
        limit, poll, pause, what = 20, 0.005, 0.05, "committed"
    else:
        sys.exit(__doc__)
    lat = []
    for i in range(n):
        before = state()
        body = json.dumps({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:%s.%d" % (major, i)}]}}}}).encode()
        req = urllib.request.Request(url + "/apis/apps/v1/namespaces/shop/deployments/shop-web", data=body,
                                     method="PATCH",
                                     headers={"Content-Type": "application/strategic-merge-patch+json"})
        t0 = time.monotonic()
        urllib.request.urlopen(req).read()
        while state() == before:
            if time.monotonic() - t0 > limit:
                sys.exit("change %d not %s within %d s" % (i, what, limit))
            time.sleep(poll)
        lat.append(time.monotonic() - t0)
        time.sleep(pause)
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("%.3f %.3f %.3f" % (p(0.5), p(0.99), lat[-1]))


if __name__ == "__main__":
    main()
