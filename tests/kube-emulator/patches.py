"""Patch algorithms used by the Kubernetes API emulator (standard library only).

merge_patch        RFC 7386 JSON merge patch        (application/merge-patch+json)
json_patch         RFC 6902 JSON patch              (application/json-patch+json)
strategic_merge    Kubernetes strategic merge patch (application/strategic-merge-patch+json)
apply_merge        simplified server-side apply     (application/apply-patch+yaml)

All functions return new values and never modify their inputs.
Errors raise PatchError(message).
"""

import copy
import json


class PatchError(Exception):
    pass


# --------------------------------------------------------------------------- merge patch

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(target.get(k), v)
    return out


# --------------------------------------------------------------------------- json patch

def _ptr_tokens(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r: must start with /" % path)
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _ptr_parent(doc, path):
    toks = _ptr_tokens(path)
    if not toks:
        raise PatchError("cannot operate on the document root %r" % path)
    cur = doc
    for t in toks[:-1]:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError("doc is missing path: %s" % path)
            cur = cur[t]
        elif isinstance(cur, list):
            try:
                i = int(t)
            except ValueError:
                raise PatchError("invalid list index %r in %s" % (t, path))
            if i < 0 or i >= len(cur):
                raise PatchError("unable to access invalid index: %d in %s" % (i, path))
            cur = cur[i]
        else:
            raise PatchError("doc is missing path: %s" % path)
    return cur, toks[-1]


def _ptr_get(doc, path):
    cur = doc
    for t in _ptr_tokens(path):
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list):
            try:
                cur = cur[int(t)]
            except (ValueError, IndexError):
                raise PatchError("doc is missing path: %s" % path)
        else:
            raise PatchError("doc is missing path: %s" % path)
    return cur


def _ptr_add(doc, path, value):
    if path == "":
        return value
    parent, last = _ptr_parent(doc, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError("invalid list index %r in %s" % (last, path))
            if i < 0 or i > len(parent):
                raise PatchError("unable to access invalid index: %d in %s" % (i, path))
            parent.insert(i, value)
    else:
        raise PatchError("doc is missing path: %s" % path)
    return doc


def _ptr_remove(doc, path):
    parent, last = _ptr_parent(doc, path)
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("unable to remove nonexistent key: %s: missing value" % last)
        return parent.pop(last)
    if isinstance(parent, list):
        try:
            i = int(last)
            return parent.pop(i)
        except (ValueError, IndexError):
            raise PatchError("unable to remove invalid index in %s" % path)
    raise PatchError("doc is missing path: %s" % path)


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a JSON array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("json patch operation needs 'op' and 'path': %s" % json.dumps(op))
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _ptr_add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _ptr_remove(doc, path)
        elif kind == "replace":
            if path == "":
                doc = copy.deepcopy(op.get("value"))
                continue
            parent, last = _ptr_parent(doc, path)
            if isinstance(parent, dict):
                if last not in parent:
                    raise PatchError("replace operation does not apply: doc is missing key: %s" % path)
                parent[last] = copy.deepcopy(op.get("value"))
            elif isinstance(parent, list):
                try:
                    parent[int(last)] = copy.deepcopy(op.get("value"))
                except (ValueError, IndexError):
                    raise PatchError("replace operation does not apply: invalid index: %s" % path)
            else:
                raise PatchError("doc is missing path: %s" % path)
        elif kind == "move":
            val = _ptr_remove(doc, op.get("from", ""))
            doc = _ptr_add(doc, path, val)
        elif kind == "copy":
            val = copy.deepcopy(_ptr_get(doc, op.get("from", "")))
            doc = _ptr_add(doc, path, val)
        elif kind == "test":
            if _ptr_get(doc, path) != op.get("value"):
                raise PatchError("testing value %s failed" % path)
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


# --------------------------------------------------------------------------- strategic merge

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# merge keys of lists, by field name (context "container" = inside a container item)
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "env": "name", "imagePullSecrets": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "conditions": "type", "hostAliases": "ip", "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}
# primitive lists merged as sets (patchStrategy: merge)
PRIMITIVE_MERGE = ("finalizers",)


def merge_key(field, ctx):
    if field == "ports":
        return "containerPort" if ctx == "container" else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(orig, patch, ctx=None):
    """Applies a strategic merge patch `patch` to `orig` (both JSON values)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(orig, dict):
        orig = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(orig)
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(v, list):
                out[field] = [x for x in out[field] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
            continue
        cur = out.get(k)
        if isinstance(v, dict):
            res = strategic_merge(cur, v, ctx)
            if res is None:
                out.pop(k, None)
            else:
                out[k] = res
        elif isinstance(v, list):
            out[k] = _merge_list(cur, v, k, ctx, patch.get("$setElementOrder/" + k))
        else:
            out[k] = copy.deepcopy(v)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(cur, patch, field, ctx, order=None):
    # a list item {"$patch": "replace"} replaces the whole list
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch
                if not (isinstance(x, dict) and x.get("$patch") == "replace")]
    if not isinstance(cur, list):
        cur = []
    if field in PRIMITIVE_MERGE:
        out = list(cur)
        for x in patch:
            if x not in out:
                out.append(copy.deepcopy(x))
        return out
    key = merge_key(field, ctx)
    if key is None or not all(isinstance(x, dict) for x in patch):
        return [copy.deepcopy(x) for x in patch]
    item_ctx = "container" if field in CONTAINER_LISTS else ctx
    out = [copy.deepcopy(x) for x in cur]
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            clean = strategic_merge({}, item, item_ctx)
            if clean is not None:
                out.append(clean)
        else:
            merged = strategic_merge(out[idx], item, item_ctx)
            if merged is None:
                out.pop(idx)
            else:
                out[idx] = merged
    return _normalize_order(out, cur, patch, key, order)


def _kj(x, key):
    return json.dumps(x.get(key), sort_keys=True) if isinstance(x, dict) else json.dumps(x)


def _normalize_order(merged, original, patch, key, order):
    """Orders a merged keyed list like apimachinery's normalizeElementOrder + mergeSortedSlice:
    the patch's items in patch order (or $setElementOrder order), server-only items in server
    order, interleaved using the original list's order where both are known."""
    src = order if isinstance(order, list) else patch
    patch_keys = [_kj(x, key) for x in src if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    pos = {k: i for i, k in enumerate(patch_keys)}
    right = sorted((x for x in merged if _kj(x, key) in pos), key=lambda x: pos[_kj(x, key)])
    left = [x for x in merged if _kj(x, key) not in pos]
    server = {_kj(x, key): i for i, x in enumerate(original or [])}
    out, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = server.get(_kj(left[i], key)), server.get(_kj(right[j], key))
            if li is not None and ri is not None and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# --------------------------------------------------------------------------- server-side apply

def apply_merge(live, applied):
    """Merges an applied configuration into the live object (lists with merge keys by key)."""
    return strategic_merge(live, applied)


def apply_remove(live, old_cfg, new_cfg, ctx=None):
    """Removes from `live` fields that were in the manager's previous applied configuration
    `old_cfg` but are no longer in `new_cfg`. Returns the new live value."""
    if not isinstance(live, dict) or not isinstance(old_cfg, dict):
        return live
    if not isinstance(new_cfg, dict):
        new_cfg = {}
    out = dict(live)
    for k, ov in old_cfg.items():
        if k not in new_cfg:
            if k in ("apiVersion", "kind", "metadata"):
                continue
            out.pop(k, None)
            continue
        nv = new_cfg[k]
        if isinstance(ov, dict) and isinstance(nv, dict) and isinstance(out.get(k), dict):
            out[k] = apply_remove(out[k], ov, nv, ctx)
        elif isinstance(ov, list) and isinstance(nv, list) and isinstance(out.get(k), list):
            key = merge_key(k, ctx)
            if key is None:
                continue
            item_ctx = "container" if k in CONTAINER_LISTS else ctx
            new_keys = {json.dumps(x.get(key)) for x in nv if isinstance(x, dict)}
            items = []
            for x in out[k]:
                if not isinstance(x, dict):
                    items.append(x)
                    continue
                kv = json.dumps(x.get(key))
                prev = next((o for o in ov if isinstance(o, dict) and json.dumps(o.get(key)) == kv), None)
                if prev is not None and kv not in new_keys:
                    continue
                if prev is not None:
                    cur_new = next(n for n in nv if isinstance(n, dict) and json.dumps(n.get(key)) == kv)
                    x = apply_remove(x, prev, cur_new, item_ctx)
                items.append(x)
            out[k] = items
    return out


def fields_v1(cfg, ctx=None, top=True):
    """FieldsV1 description ("f:field" / "k:{...}") of the fields set in an applied config."""
    out = {}
    if not isinstance(cfg, dict):
        return out
    for k, v in cfg.items():
        if top and k in ("apiVersion", "kind"):
            continue
        if top and k == "metadata" and isinstance(v, dict):
            md = fields_v1({x: y for x, y in v.items()
                            if x in ("labels", "annotations", "finalizers", "ownerReferences")}, ctx, False)
            if md:
                out["f:metadata"] = md
            continue
        if isinstance(v, dict):
            out["f:" + k] = fields_v1(v, ctx, False)
        elif isinstance(v, list):
            key = merge_key(k, ctx)
            item_ctx = "container" if k in CONTAINER_LISTS else ctx
            if key and all(isinstance(x, dict) for x in v):
                sub = {}
                for x in v:
                    ent = fields_v1(x, item_ctx, False)
                    ent["."] = {}
                    sub["k:" + json.dumps({key: x.get(key)}, separators=(",", ":"))] = ent
                out["f:" + k] = sub
            else:
                out["f:" + k] = {}
        else:
            out["f:" + k] = {}
    return out


# --------------------------------------------------------------------------- field ownership

META_OWNED = ("labels", "annotations", "finalizers", "ownerReferences")


def _ktok(item, key):
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))


def _paths(v, ctx, prefix, out):
    for k, x in v.items():
        p = prefix + ("f:" + k,)
        if isinstance(x, dict) and x:
            _paths(x, ctx, p, out)
        elif isinstance(x, list):
            key = merge_key(k, ctx)
            ictx = "container" if k in CONTAINER_LISTS else ctx
            if key and x and all(isinstance(i, dict) and key in i for i in x):
                for i in x:
                    ip = p + (_ktok(i, key),)
                    out.add(ip + (".",))
                    _paths(i, ictx, ip, out)
            else:
                out.add(p)
        else:
            out.add(p)


def object_paths(obj, skip_status=False):
    """The set of field paths (tuples of FieldsV1 tokens) an object or applied config sets."""
    out = set()
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if k in ("apiVersion", "kind") or (skip_status and k == "status"):
            continue
        if k == "metadata":
            if isinstance(v, dict):
                _paths({x: y for x, y in v.items() if x in META_OWNED}, None, ("f:metadata",), out)
            continue
        _paths({k: v}, None, (), out)
    return out


_MISSING = object()


def value_at(obj, path):
    cur = obj
    for t in path:
        if t == ".":
            return cur
        if t.startswith("f:"):
            if not isinstance(cur, dict) or t[2:] not in cur:
                return _MISSING
            cur = cur[t[2:]]
        elif t.startswith("k:"):
            kv = json.loads(t[2:])
            (key, want), = kv.items()
            if not isinstance(cur, list):
                return _MISSING
            cur = next((i for i in cur if isinstance(i, dict) and i.get(key) == want), _MISSING)
            if cur is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return cur


def changed_paths(old, new, skip_status=False):
    """Paths set in `new` whose value differs from (or is missing in) `old`."""
    out = set()
    for p in object_paths(new, skip_status):
        if p[-1] == ".":
            if old is None or value_at(old, p) is _MISSING:
                out.add(p)
            continue
        if old is None or value_at(old, p) != value_at(new, p):
            out.add(p)
    return out


def fields_from_paths(paths):
    root = {}
    for p in sorted(paths):
        node = root
        for t in p:
            node = node.setdefault(t, {})
    return root


def paths_from_fields(fields, prefix=()):
    out = set()
    if not isinstance(fields, dict):
        return out
    for t, sub in fields.items():
        p = prefix + (t,)
        if isinstance(sub, dict) and sub:
            out |= paths_from_fields(sub, p)
        else:
            out.add(p)
    return out


def path_str(path):
    """.spec.template.spec.containers[name="app"].image"""
    s = ""
    for t in path:
        if t == ".":
            continue
        if t.startswith("f:"):
            s += "." + t[2:]
        elif t.startswith("k:"):
            (key, val), = json.loads(t[2:]).items()
            s += "[%s=%s]" % (key, json.dumps(val))
    return s
