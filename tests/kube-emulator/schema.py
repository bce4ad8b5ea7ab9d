"""Structural-schema handling of custom resources, like kube-apiserver does for CRDs:
pruning of unknown fields, defaulting, and OpenAPI v3 validation (type, required, enum, pattern,
lengths, bounds, item/property counts) and x-kubernetes-validations rules in the CEL subset of
cel.py (rules outside it are skipped). `format` is not checked.

process(obj, schema) -> (obj, unknown_paths, errors); errors are (field, reason, message) tuples
with the kube-apiserver wording.
"""

import copy
import json
import re

import cel


def _q(v):
    return json.dumps(v) if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def _type_ok(v, s):
    t = s.get("type")
    if v is None:
        return s.get("nullable", False) or not t
    if s.get("x-kubernetes-int-or-string"):
        return (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, str)
    if not t:
        return True
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    return True


def _go_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _prune_default(v, s, path, unknown, root=False):
    """Prunes unknown fields and applies defaults in place; returns the new value."""
    if not isinstance(s, dict):
        return v
    if isinstance(v, dict):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        keep_all = s.get("x-kubernetes-preserve-unknown-fields") or addl is True
        embedded = s.get("x-kubernetes-embedded-resource")
        out = {}
        for k, x in v.items():
            sub = path + "." + k if path else k
            if (root or embedded) and k in ("apiVersion", "kind", "metadata"):
                out[k] = x
                continue
            if props is not None and k in props:
                ps = props[k]
                if x is None and not ps.get("nullable") and "default" in ps:
                    continue  # nulls of non-nullable defaulted fields are pruned, then defaulted
                out[k] = _prune_default(x, ps, sub, unknown)
            elif isinstance(addl, dict):
                out[k] = _prune_default(x, addl, sub, unknown)
            elif keep_all:
                out[k] = x
            else:
                unknown.append(sub)
        for k, ps in (props or {}).items():
            if k not in out and isinstance(ps, dict) and "default" in ps:
                out[k] = _prune_default(copy.deepcopy(ps["default"]), ps, path + "." + k if path else k, [])
        return out
    if isinstance(v, list) and isinstance(s.get("items"), dict):
        return [_prune_default(x, s["items"], "%s[%d]" % (path, i), unknown) for i, x in enumerate(v)]
    return v


def _validate(v, s, path, errs):
    if not isinstance(s, dict):
        return
    if not _type_ok(v, s):
        t = s.get("type")
        errs.append((path, "FieldValueTypeInvalid",
                     "Invalid value: %s: %s in body must be of type %s: %s"
                     % (_q(_go_type(v)), path, t, _q(_go_type(v)))))
        return
    if v is None:
        return
    for rule in s.get("x-kubernetes-validations") or []:
        if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
            continue
        try:
            ok = cel.evaluate(rule["rule"], v)
        except (cel.CelError, RecursionError):
            continue  # outside the supported subset: do not reject what the real server may accept
        if not ok:
            field = path
            if rule.get("fieldPath"):
                field = (path or "") + rule["fieldPath"]
            msg = rule.get("message") or "failed rule: %s" % rule["rule"]
            rsn = {"FieldValueRequired": "FieldValueRequired", "FieldValueForbidden": "FieldValueForbidden",
                   "FieldValueDuplicate": "FieldValueDuplicate"}.get(rule.get("reason"), "FieldValueInvalid")
            errs.append((field, rsn, "Invalid value: %s: %s" % (_q(s.get("type") or _go_type(v)), msg)))
    if "enum" in s and v not in s["enum"]:
        errs.append((path, "FieldValueNotSupported", "Unsupported value: %s: supported values: %s"
                     % (_q(v), ", ".join(_q(e) for e in s["enum"]))))
    if isinstance(v, str):
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append((path, "FieldValueTooLong", "Too long: may not be more than %d bytes" % s["maxLength"]))
        if "minLength" in s and len(v) < s["minLength"]:
            errs.append((path, "FieldValueInvalid", "Invalid value: %s: %s in body should be at least %d chars long"
                         % (_q(v), path, s["minLength"])))
        if "pattern" in s:
            try:
                ok = re.search(s["pattern"], v) is not None
            except re.error:
                ok = True
            if not ok:
                errs.append((path, "FieldValueInvalid", "Invalid value: %s: %s in body should match '%s'"
                             % (_q(v), path, s["pattern"])))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "maximum" in s and (v > s["maximum"] or (s.get("exclusiveMaximum") and v >= s["maximum"])):
            errs.append((path, "FieldValueInvalid", "Invalid value: %s: %s in body should be less than or equal to %s"
                         % (_q(v), path, s["maximum"])))
        if "minimum" in s and (v < s["minimum"] or (s.get("exclusiveMinimum") and v <= s["minimum"])):
            errs.append((path, "FieldValueInvalid", "Invalid value: %s: %s in body should be greater than or equal to %s"
                         % (_q(v), path, s["minimum"])))
    if isinstance(v, list):
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append((path, "FieldValueTooMany", "Too many: %d: must have at most %d items" % (len(v), s["maxItems"])))
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append((path, "FieldValueInvalid", "Invalid value: %d: %s in body should have at least %d items"
                         % (len(v), path, s["minItems"])))
        if isinstance(s.get("items"), dict):
            for i, x in enumerate(v):
                _validate(x, s["items"], "%s[%d]" % (path, i), errs)
    if isinstance(v, dict):
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            errs.append((path, "FieldValueTooMany", "Too many: %d: must have at most %d items" % (len(v), s["maxProperties"])))
        for req in s.get("required") or []:
            if req not in v:
                errs.append(((path + "." if path else "") + req, "FieldValueRequired", "Required value"))
        props = s.get("properties") or {}
        for k, x in v.items():
            sub = path + "." + k if path else k
            if not path and k in ("apiVersion", "kind", "metadata"):
                continue
            if k in props:
                _validate(x, props[k], sub, errs)
            elif isinstance(s.get("additionalProperties"), dict):
                _validate(x, s["additionalProperties"], sub, errs)


def process(obj, schema):
    """Prunes, defaults and validates a custom resource against its openAPIV3Schema."""
    if not isinstance(schema, dict) or not schema:
        return obj, [], []
    unknown = []
    out = _prune_default(obj, schema, "", unknown, root=True)
    errs = []
    _validate(out, schema, "", errs)
    return out, unknown, errs
