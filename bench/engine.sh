#!/usr/bin/env bash
# Engine benchmark (issue 2, DESIGN.md "Performance targets"): `dhg generate` on inputs of
# N resources (sets of Deployment+Service+ConfigMap+Secret+Ingress from bench/gen_manifests.py)
# against the floor (bench/yaml_floor.c: parse the same YAML with libyaml events and write the
# same number of bytes; for reference also on every core with `-j`, into as many files as the
# chart has). Wall time is the median of BENCH_RUNS runs (perf_counter around the
# process); peak RSS comes from /usr/bin/time -f %M.
#
# Usage: bench/engine.sh [N...]          (default: 10 100 500 1000 5000 50000)
# Env:   BENCH_RUNS   runs per measurement (default 5; 3 for N >= 50000)
#        BENCH_DIR    where inputs and charts are written (default /dev/shm when present, so
#                     the disk is not what is measured; set BENCH_DIR=/tmp to include it)
#        DHG_BUILD    build directory holding dhg and yaml_floor (default: build)
#        BENCH_MD     also write the results table as Markdown to this file
#        BENCH_CALLGRIND=1  instead of timing: count instructions with valgrind's callgrind,
#                     which does not depend on the machine's load (default N: 5000). Per N:
#                     `dhg generate --dry-run` and the floor (one file) as whole processes, their
#                     ratio, and the engine split per phase by build/engine_phases on one thread (extract,
#                     normalize, generate, write, dispose: instructions and share, CPU ms and
#                     peak RSS after each phase, natively). BENCH_CG_KEEP=DIR keeps the
#                     callgrind files for callgrind_annotate.
# Targets: 5,000 resources <= 0.1 s and <= 64 MB; <= 3x the floor; 10x resources => <= 11x time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${DHG_BUILD:-$ROOT/build}
PY=/usr/bin/python3
for b in "$BUILD/dhg" "$BUILD/yaml_floor" /usr/bin/time; do
	[ -x "$b" ] || { echo "bench: $b missing (make all tools; apt-get install time)" >&2; exit 1; }
done
if [ -z "${BENCH_DIR:-}" ]; then
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then BENCH_DIR=/dev/shm; else BENCH_DIR=${TMPDIR:-/tmp}; fi
fi
WORK=$(mktemp -d "$BENCH_DIR/dhg-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ $# -eq 0 ]; then
	if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then set -- 5000; else set -- 10 100 500 1000 5000 50000; fi
fi

if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
	for b in "$BUILD/engine_phases" /usr/bin/valgrind; do
		[ -x "$b" ] || { echo "bench: $b missing (make tools; apt-get install valgrind)" >&2; exit 1; }
	done
	echo "dhg: $("$BUILD/dhg" version); callgrind instruction counts (Ir; independent of load)"
	$PY - "$ROOT" "$BUILD" "$WORK" "${BENCH_MD:-}" "${BENCH_CG_KEEP:-}" "$@" <<'PY'
import glob, os, re, shutil, subprocess, sys
root, build, work, md_path, keep = sys.argv[1:6]
sizes = [int(x) for x in sys.argv[6:]]
dhg, floor, phases = (os.path.join(build, x) for x in ("dhg", "yaml_floor", "engine_phases"))

def cg(tag, cmd, atstart=True, env=None):
    """Runs cmd under callgrind; returns (stdout, [(part name, Ir)], the callgrind files)."""
    out = os.path.join(work, "cg-%s.out" % tag)
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
    if not atstart:
        vg.append("--collect-atstart=no")
    p = subprocess.run(vg + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        sys.exit("bench: %s failed under callgrind (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-800:]))
    files = sorted(glob.glob(out + "*"), key=lambda f: (len(f), f))
    parts = []
    for f in files:
        txt = open(f, errors="replace").read(200000)
        m = re.search(r"^(?:summary|totals): (\d+)", txt, re.M)
        t = re.search(r"^desc: Trigger: Client Request: (\S+)", txt, re.M)
        if m and (atstart or t):
            parts.append((t.group(1) if t else "total", int(m.group(1))))
    if keep:
        os.makedirs(keep, exist_ok=True)
        for f in files:
            shutil.copy(f, keep)
    return p.stdout, parts, files

lines = []
for n in sizes:
    inp = os.path.join(work, "in-%d" % n)
    subprocess.run([sys.executable, os.path.join(root, "bench", "gen_manifests.py"), str(n), inp], check=True)
    # native run: CPU ms and peak RSS per phase. engine_phases on one thread: callgrind's
    # collection toggles are per thread, so the workers' instructions would be missed
    one = dict(os.environ, DHG_THREADS="1")
    p = subprocess.run([phases, "--dry-run", "--chart-name", "bench", "-f", inp], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=one)
    if p.returncode != 0:
        sys.exit("bench: engine_phases failed: " + p.stderr[-500:])
    native = {m.group(1): (float(m.group(2)), int(m.group(3)))
              for m in re.finditer(r"phase=(\w+) cpu_ms=([\d.]+) wall_ms=[\d.]+ maxrss_kb=(\d+)", p.stdout)}
    chart_bytes = int(re.search(r"bytes=(\d+)", p.stdout).group(1))
    _, dparts, _ = cg("dhg-%d" % n, [dhg, "generate", "-f", inp, "--dry-run", "--chart-name", "bench"])
    fdir = os.path.join(work, "floor-%d" % n)
    _, fparts, _ = cg("floor-%d" % n, [floor, fdir, str(chart_bytes), inp])
    shutil.rmtree(fdir, ignore_errors=True)
    _, pparts, _ = cg("phases-%d" % n, [phases, "--dry-run", "--chart-name", "bench", "-f", inp], atstart=False,
                      env=one)
    shutil.rmtree(inp)
    d_ir, f_ir = dparts[0][1], fparts[0][1]
    ptotal = sum(ir for _, ir in pparts)
    lines.append("%d resources: `dhg generate --dry-run` %s Ir, floor %s Ir: **%.1f× the floor** in instructions "
                 "(target ≤ 3×)." % (n, format(d_ir, ","), format(f_ir, ","), d_ir / f_ir))
    # valgrind does not emulate the SHA extensions, so OpenSSL's SHA-256 (the chart digest) runs
    # its generic code under callgrind: report its share separately
    if shutil.which("callgrind_annotate"):
        a = subprocess.run(["callgrind_annotate", "--threshold=100", os.path.join(work, "cg-dhg-%d.out" % n)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        crypto = sum(int(m.group(1).replace(",", "")) for m in
                     re.finditer(r"^\s*([\d,]+) .*libcrypto", a, re.M))
        lines.append("Of that, libcrypto (SHA-256 of the chart digest; generic code under valgrind, SHA-NI "
                     "natively) is %s Ir; without it %.1f× the floor." % (format(crypto, ","), (d_ir - crypto) / f_ir))
    lines.append("")
    lines.append("| phase (engine_phases, %d resources) | instructions (Ir) | share | × floor | CPU ms (native) | peak RSS MB after |" % n)
    lines.append("|---|---|---|---|---|---|")
    for name, ir in pparts:
        cpu, rss = native.get(name, (float("nan"), 0))
        lines.append("| %s | %s | %.1f%% | %.2f× | %.1f | %.1f |" % (name, format(ir, ","), 100.0 * ir / ptotal,
                                                                 ir / f_ir, cpu, rss / 1024))
    lines.append("| all phases | %s | 100%% | %.2f× | %.1f | |" % (format(ptotal, ","), ptotal / f_ir,
                                                                 sum(c for c, _ in native.values())))
    lines.append("")
    if keep:
        lines.append("Hotspots: `callgrind_annotate --inclusive=yes %s/cg-phases-%d.out.N` (N = 1 extract, 2 normalize, "
                     "3 generate, 4 write, 5 dispose); whole process: `%s/cg-dhg-%d.out`." % (keep, n, keep, n))
        lines.append("")
    print("measured %d resources" % n, file=sys.stderr)
out = "\n".join(lines)
print(out)
if md_path:
    open(md_path, "w").write(out + "\n")
PY
	exit 0
fi

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "dhg: $("$BUILD/dhg" version); output on $BENCH_DIR ($(df -T "$BENCH_DIR" | awk 'NR==2{print $2}'))"

$PY - "$ROOT" "$BUILD" "$WORK" "${BENCH_RUNS:-}" "${BENCH_MD:-}" "$@" <<'PY'
import os, re, shutil, statistics, subprocess, sys, time
root, build, work, runs_env, md_path = sys.argv[1:6]
sizes = [int(x) for x in sys.argv[6:]]
dhg, floor = os.path.join(build, "dhg"), os.path.join(build, "yaml_floor")

def measure(cmd, runs, before=None):
    """(median wall s, max peak RSS KB, last process, median user+sys CPU s)"""
    walls, rss, cpus = [], [], []
    for _ in range(runs):
        if before:
            before()
        tf = os.path.join(work, "time.out")
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", tf] + cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        walls.append(time.perf_counter() - t0)
        if p.returncode != 0:
            sys.exit("bench: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-500:]))
        m, u, sy = open(tf).read().split()[-3:]
        rss.append(int(m))
        cpus.append(float(u) + float(sy))
    return statistics.median(walls), max(rss), p, statistics.median(cpus)

def tree_size(d):
    n = b = 0
    for r, _, fs in os.walk(d):
        for f in fs:
            n += 1
            b += os.path.getsize(os.path.join(r, f))
    return n, b

load0 = open("/proc/loadavg").read().split()[0]
rows = []
for n in sizes:
    runs = int(runs_env) if runs_env else (3 if n >= 50000 else 5)
    inp = os.path.join(work, "in-%d" % n)
    subprocess.run([sys.executable, os.path.join(root, "bench", "gen_manifests.py"), str(n), inp], check=True)
    in_bytes = sum(os.path.getsize(os.path.join(inp, f)) for f in os.listdir(inp))
    out = os.path.join(work, "chart-%d" % n)
    clean = lambda: shutil.rmtree(out, ignore_errors=True)
    t_dhg, rss_dhg, p, c_dhg = measure([dhg, "generate", "-f", inp, "-o", out, "--chart-name", "bench"], runs, clean)
    m = re.search(r"\((\d+) resources", p.stdout + p.stderr)
    if not m or int(m.group(1)) != n:
        sys.exit("bench: dhg did not report %d resources: %s" % (n, (p.stdout + p.stderr).strip()))
    nfiles, chart_bytes = tree_size(out)
    t_dry, rss_dry, _, _ = measure([dhg, "generate", "-f", inp, "--dry-run", "--chart-name", "bench"], runs)
    t_an, rss_an, _, _ = measure([dhg, "analyze", "-f", inp, "--format", "json"], runs)
    fdir = os.path.join(work, "floor-%d" % n)
    fclean = lambda: shutil.rmtree(fdir, ignore_errors=True)
    t_floor, rss_floor, _, c_floor = measure([floor, fdir, str(chart_bytes), inp], runs, fclean)
    t_floorn, _, _, _ = measure([floor, "-n", str(nfiles), fdir, str(chart_bytes), inp], runs, fclean)
    # for reference only: the same work on every core (what any implementation could not beat here)
    t_floorj, _, _, _ = measure([floor, "-n", str(nfiles), "-j", str(os.cpu_count() or 1), fdir, str(chart_bytes), inp],
                                runs, fclean)
    clean(); fclean()
    shutil.rmtree(inp)
    rows.append(dict(n=n, in_kb=in_bytes / 1024, files=nfiles, chart_kb=chart_bytes / 1024, dhg=t_dhg,
                     rss=rss_dhg / 1024, dry=t_dry, floor=t_floor, floorn=t_floorn, floorj=t_floorj, frss=rss_floor / 1024,
                     runs=runs, an=t_an, anrss=rss_an / 1024, cdhg=c_dhg, cfloor=c_floor))
    r = rows[-1]
    print("measured %6d resources: dhg %.3f s, %.1f MB (runs=%d)" % (n, r["dhg"], r["rss"], runs), file=sys.stderr)

hdr = ("| resources | input KiB | chart files | chart KiB | dhg generate s (median) | peak RSS MB | dhg --dry-run s "
       "| floor s (1 file) | floor s (same file count) | floor RSS MB | dhg / floor | dhg / floor (same files) "
       "| dhg analyze s | analyze RSS MB | dhg CPU s (user+sys) | floor CPU s |")
lines = [hdr, "|" + "|".join(["---"] * (hdr.count("|") - 1)) + "|"]
for r in rows:
    lines.append("| %d | %.0f | %d | %.0f | %.4f | %.1f | %.4f | %.4f | %.4f | %.1f | %.1f× | %.1f× | %.4f | %.1f | %.2f | %.2f |" % (
        r["n"], r["in_kb"], r["files"], r["chart_kb"], r["dhg"], r["rss"], r["dry"], r["floor"], r["floorn"],
        r["frss"], r["dhg"] / r["floor"], r["dhg"] / r["floorn"], r["an"], r["anrss"], r["cdhg"], r["cfloor"]))
by = {r["n"]: r for r in rows}
scal = []
for a, b in [(10, 100), (100, 1000), (500, 5000), (5000, 50000)]:
    if a in by and b in by:
        scal.append("| %d → %d | %.1f× | %.1f× | %.1f× |" % (a, b, by[b]["dhg"] / by[a]["dhg"], by[b]["rss"] / by[a]["rss"],
                                                        by[b]["an"] / by[a]["an"]))
out = "\n".join(lines)
if scal:
    out += "\n\n| 10× resources | generate time ratio (target ≤ 11×) | generate RSS ratio | analyze time ratio |\n|---|---|---|---|\n" + "\n".join(scal)
if 5000 in by:
    r = by[5000]
    out += ("\n\nTargets at 5,000 resources: time %.3f s (target ≤ 0.1 s: %s), peak RSS %.1f MB (target ≤ 64 MB: %s), "
            "%.1f× the floor (target ≤ 3×: %s)." % (
                r["dhg"], "met" if r["dhg"] <= 0.1 else "MISSED", r["rss"], "met" if r["rss"] <= 64 else "MISSED",
                r["dhg"] / r["floor"], "met" if r["dhg"] / r["floor"] <= 3 else "MISSED"))
    out += (" CPU time (user+sys, less sensitive to a loaded machine): dhg %.2f s, floor %.2f s."
            % (r["cdhg"], r["cfloor"]))
    out += (" For reference, the floor on all %d cores with the chart's file count (`yaml_floor -j`): %.3f s;"
            " dhg is %.1f× that." % (os.cpu_count() or 1, r["floorj"], r["dhg"] / r["floorj"]))
out += "\nLoad average during the run: %s -> %s." % (load0, open("/proc/loadavg").read().split()[0])
print(out)
if md_path:
    open(md_path, "w").write(out + "\n")
PY
