#!/usr/bin/python3
"""Checks that the user docs cover what the code and the CRD define.

Usage: docs_check.py ROOT BUILD            run every check; exit 1 naming each gap
       docs_check.py ROOT BUILD --skeleton print a reference table row for every CRD field
                                           (paste the missing ones into the reference)

Conventions the docs follow (and this script relies on):

* docs/helmchart-reference.md documents a CRD field with a table row whose first cell holds the
  full dotted path in backticks, e.g. | `spec.output.git.secretRef.name` | string | ... |.
  Array items are written with [] (`spec.source.cluster.exclude[].kind`). Columns:
  | Field | Type | Default | Allowed values | Description and example |.
  The Type cell names the CRD type, the Default cell holds the CRD default (when there is one),
  the Allowed cell every enum value. A documented spec./status. path that is no longer in the
  CRD is an error too (stale docs).
* Condition reasons: a table row with the reason in backticks as first cell, under a heading
  that contains "Condition reasons". Event reasons: the same under a heading with "Events".
  Printer columns: the same under a heading with "Printer columns".
* docs/operations.md names every `--flag` of `dhg-operator --help` and its DHG_<FLAG>
  environment variable, and every metric the operator registers; docs/cli.md names every
  `--flag` of `dhg generate|analyze|push --help`.
"""
import os
import re
import subprocess
import sys

import yaml

REF = "docs/helmchart-reference.md"
OPS = "docs/operations.md"
CLI = "docs/cli.md"
OWN_DOCS = [REF, OPS, CLI, "docs/generated-charts.md"]


def crd_schema(root):
    with open(os.path.join(root, "crd/helmcharts.dhg.deckhouse.io.yaml"), encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    ver = [v for v in crd["spec"]["versions"] if v.get("storage")][0]
    return ver


def walk(schema, path, out):
    """Appends (path, schema) for every property below `schema` (an object schema)."""
    for name, sub in (schema.get("properties") or {}).items():
        p = f"{path}.{name}" if path else name
        out.append((p, sub))
        if sub.get("type") == "object" and "properties" in sub:
            walk(sub, p, out)
        elif sub.get("type") == "array":
            items = sub.get("items") or {}
            if items.get("type") == "object" and "properties" in items:
                walk(items, p + "[]", out)


def crd_fields(ver):
    top = ver["schema"]["openAPIV3Schema"]
    out = []
    for section in ("spec", "status"):
        s = top["properties"][section]
        out.append((section, s))
        walk(s, section, out)
    return out


def split_row(line):
    """Cells of a markdown table row; '|' inside a cell must be escaped as '\\|'."""
    cells, cur, i = [], "", 0
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if c == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    cells.append(cur.strip())
    return cells


def doc_rows(text):
    """[(heading path, first-cell backticked token, cells)] for every table row."""
    rows, headings = [], []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r"^(#{1,6})\s+(.*)", line)
        if m:
            level = len(m.group(1))
            headings = headings[: level - 1] + [m.group(2)]
            continue
        if line.lstrip().startswith("|"):
            cells = split_row(line)
            m = re.fullmatch(r"`([^`]+)`", cells[0]) if cells else None
            if m:
                rows.append((" / ".join(headings), m.group(1), cells))
    return rows


def read(root, rel):
    try:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def fmt_default(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def check_reference(root, ver, errors):
    text = read(root, REF)
    if text is None:
        errors.append(f"{REF}: missing")
        return
    rows = doc_rows(text)
    documented = {}
    for heading, tok, cells in rows:
        if re.match(r"^(spec|status)(\.|$)", tok):
            documented.setdefault(tok, cells)
    fields = crd_fields(ver)
    names = {p for p, _ in fields}
    for p, s in fields:
        cells = documented.get(p)
        if cells is None:
            errors.append(f"{REF}: CRD field `{p}` is not documented (add a table row | `{p}` | ... |)")
            continue
        if len(cells) < 5:
            errors.append(f"{REF}: row `{p}` has {len(cells)} cells, expected 5 (Field | Type | Default | Allowed | Description)")
            continue
        t = s.get("type", "object" if s.get("x-kubernetes-preserve-unknown-fields") else "")
        if t and t not in cells[1]:
            errors.append(f"{REF}: row `{p}`: Type cell \"{cells[1]}\" does not say {t}")
        if "default" in s and fmt_default(s["default"]) not in cells[2]:
            errors.append(f"{REF}: row `{p}`: Default cell \"{cells[2]}\" does not hold the CRD default {fmt_default(s['default'])}")
        for e in s.get("enum") or []:
            if str(e) not in cells[3]:
                errors.append(f"{REF}: row `{p}`: Allowed cell does not list enum value {e}")
        items = s.get("items") or {}
        for e in items.get("enum") or []:
            if str(e) not in cells[3]:
                errors.append(f"{REF}: row `{p}`: Allowed cell does not list enum value {e}")
    for p in sorted(documented):
        if p not in names:
            errors.append(f"{REF}: documents `{p}`, which is not a field of the CRD (stale?)")
    # printer columns
    cols = {tok for h, tok, _ in rows if "printer columns" in h.lower()}
    for c in ver.get("additionalPrinterColumns") or []:
        if c["name"] not in cols:
            errors.append(f"{REF}: printer column {c['name']} is not in the \"Printer columns\" table")
    return rows


def c_sources(root):
    d = os.path.join(root, "controller")
    out = {}
    for n in sorted(os.listdir(d)):
        if n.endswith(".c"):
            with open(os.path.join(d, n), encoding="utf-8") as f:
                out["controller/" + n] = f.read()
    return out


def literal_values(token, src):
    """String values an argument token can have: "X" -> [X]; name[i] -> the array's literals."""
    token = token.strip()
    m = re.fullmatch(r'"([^"]*)"', token)
    if m:
        return [m.group(1)]
    m = re.fullmatch(r"(\w+)\s*\[[^\]]*\]", token)
    if m:
        arr = re.search(r"\b" + re.escape(m.group(1)) + r"\s*\[[^\]]*\]\s*=\s*\{([^}]*)\}", src)
        if arr:
            return re.findall(r'"([^"]*)"', arr.group(1))
    return []


def controller_reasons(root):
    """(condition reasons, event reasons, unresolved call descriptions) used in controller/*.c."""
    conds, events, unresolved = set(), set(), []
    call = re.compile(r"\bset_outcome\s*\(\s*[^,()]+,\s*(RT_STATUS_\w+)\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,")
    for name, src in c_sources(root).items():
        for m in call.finditer(src):
            kind, reason, _evtype, evreason = m.groups()
            if kind.startswith("RT_STATUS_") and reason != "reason":
                vals = literal_values(reason, src)
                if not vals:
                    unresolved.append(f"{name}: set_outcome reason {reason}")
                conds.update(vals)
            if evreason not in ("NULL", "ev_reason"):
                vals = literal_values(evreason, src)
                if not vals:
                    unresolved.append(f"{name}: set_outcome event reason {evreason}")
                events.update(vals)
        # other Events recorded directly
        for m in re.finditer(r"\brt_recorder_event\s*\([^,]+,[^,]+,[^,]+,\s*(\"[^\"]*\")", src):
            events.update(literal_values(m.group(1), src))
    return conds, events, unresolved


def check_reasons(root, rows, errors):
    conds, events, unresolved = controller_reasons(root)
    errors.extend(f"docs_check: cannot resolve {u} (update docs_check.py)" for u in unresolved)
    if not conds:
        errors.append("docs_check: found no condition reason in controller/*.c (did set_outcome change?)")
    doc_conds = {tok for h, tok, _ in rows if "condition reasons" in h.lower()}
    doc_events = {tok for h, tok, _ in rows if "events" in h.lower()}
    for r in sorted(conds):
        if r not in doc_conds:
            errors.append(f"{REF}: condition reason {r} (set in controller/*.c) is not in the \"Condition reasons\" table")
    for r in sorted(events):
        if r not in doc_events:
            errors.append(f"{REF}: Event reason {r} (emitted by controller/*.c) is not in the \"Events\" table")
    for r in sorted(doc_conds - conds):
        if r not in ("NoChange",):  # DESIGN's list names NoChange; the doc explains it is an Event reason
            errors.append(f"{REF}: documents condition reason {r}, which controller/*.c never sets (stale?)")
    text = read(root, REF) or ""
    for src in c_sources(root).values():
        for a in re.findall(r'#define\s+RECONCILE_ANNOTATION\s+"([^"]+)"', src):
            if f"`{a}`" not in text:
                errors.append(f"{REF}: annotation `{a}` is not documented")


def help_flags(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except OSError as e:
        return None, str(e)
    if out.returncode != 0:
        return None, f"exit {out.returncode}: {out.stderr.strip()}"
    flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out.stdout)))
    return flags, None


def check_flags(root, build, errors):
    cases = [
        ([os.path.join(build, "dhg-operator"), "--help"], OPS),
        ([os.path.join(build, "dhg"), "generate", "--help"], CLI),
        ([os.path.join(build, "dhg"), "analyze", "--help"], CLI),
        ([os.path.join(build, "dhg"), "push", "--help"], CLI),
    ]
    for cmd, doc in cases:
        flags, err = help_flags(cmd)
        shown = " ".join(os.path.basename(cmd[0]) if i == 0 else a for i, a in enumerate(cmd))
        if flags is None:
            errors.append(f"cannot run `{shown}`: {err}")
            continue
        if not flags:
            errors.append(f"`{shown}` lists no --flag (help format changed?)")
        text = read(root, doc)
        if text is None:
            errors.append(f"{doc}: missing")
            continue
        for fl in flags:
            if not re.search(r"`" + re.escape(fl) + r"(?![a-z0-9-])", text):
                errors.append(f"{doc}: flag {fl} of `{shown}` is not documented (write it in backticks)")
            if doc == OPS and fl not in ("--help", "--version", "--print-rbac"):  # actions, no variable
                env = "DHG_" + fl[2:].upper().replace("-", "_")
                if not re.search(r"\b" + env + r"\b", text):
                    errors.append(f"{doc}: environment variable {env} (for {fl}) is not documented")


def check_metrics(root, errors):
    names = set()
    srcs = list(c_sources(root).values())
    hs = os.path.join(root, "internal/httpserver")
    for n in sorted(os.listdir(hs)):
        if n.endswith(".c"):
            with open(os.path.join(hs, n), encoding="utf-8") as f:
                srcs.append(f.read())
    for src in srcs:
        names.update(re.findall(r'metrics_(?:counter|gauge|histogram)_new\s*\(\s*[^,]+,\s*"([a-z_:][a-z0-9_:]*)"', src))
        names.update(re.findall(r"# TYPE ([a-z_:][a-z0-9_:]*) ", src))
    if not names:
        errors.append("docs_check: found no metric in controller/ or internal/httpserver/")
    text = read(root, OPS) or ""
    for n in sorted(names):
        if not re.search(r"`" + re.escape(n) + r"(?![a-z0-9_])", text):
            errors.append(f"{OPS}: metric {n} is not documented (write it in backticks)")


def check_links(root, errors):
    for rel in OWN_DOCS:
        text = read(root, rel)
        if text is None:
            errors.append(f"{rel}: missing")
            continue
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        prose = re.sub(r"`[^`\n]*`", "", prose)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            if re.match(r"^[a-z]+://", target):
                continue
            if not os.path.exists(os.path.normpath(os.path.join(root, os.path.dirname(rel), target))):
                errors.append(f"{rel}: link to {target}, which does not exist")


def skeleton(ver):
    for p, s in crd_fields(ver):
        t = s.get("type", "object")
        if t == "array":
            it = (s.get("items") or {}).get("type", "")
            t = f"array of {it}" if it else t
        d = f"`{fmt_default(s['default'])}`" if "default" in s else ""
        allowed = ", ".join(f"`{e}`" for e in s.get("enum") or [])
        if "pattern" in s:
            allowed = (allowed + " " if allowed else "") + "pattern `" + s["pattern"].replace("|", "\\|") + "`"
        if "maxLength" in s:
            allowed += f"; ≤ {s['maxLength']} chars"
        if "maxItems" in s:
            allowed += f"; ≤ {s['maxItems']} items"
        desc = " ".join((s.get("description") or "").split()).replace("|", "\\|")
        print(f"| `{p}` | {t} | {d} | {allowed} | {desc} |")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, build = sys.argv[1], sys.argv[2]
    ver = crd_schema(root)
    if len(sys.argv) > 3 and sys.argv[3] == "--skeleton":
        skeleton(ver)
        return 0
    errors = []
    rows = check_reference(root, ver, errors) or []
    check_reasons(root, rows, errors)
    check_flags(root, build, errors)
    check_metrics(root, errors)
    check_links(root, errors)
    for e in errors:
        print("FAIL: " + e)
    n = len(crd_fields(ver))
    if errors:
        print(f"docs_check: {len(errors)} problem(s)")
        return 1
    print(f"docs_check: ok ({n} CRD fields, reasons, flags, metrics and links checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
