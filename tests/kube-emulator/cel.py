"""A small CEL subset for CRD x-kubernetes-validations rules.

Supported: literals (int, double, string, bool, null, lists, maps), `self`, field selection and
indexing, has(), the operators ! - * / % + - < <= > >= == != in && || ?:, functions size,
startsWith, endsWith, contains, matches, int, string, double, lowerAscii, upperAscii, and the macros
all, exists, exists_one, filter, map. Anything else (oldSelf transition rules, unknown functions,
evaluation errors such as a missing field without has()) raises CelError, and the caller skips the
rule rather than rejecting an object the real server might accept.
"""

import re


class CelError(Exception):
    pass


TOKEN = re.compile(r"""\s*(?:
    (?P<num>\d+\.\d+(?:[eE][-+]?\d+)?|\d+[uU]?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:().\[\],{}])
)""", re.X)


def tokenize(src):
    out, pos = [], 0
    src = src.rstrip()
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise CelError("cannot tokenize at %d" % pos)
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "num":
            val = float(val) if "." in val else int(val.rstrip("uU"))
        elif kind == "str":
            val = bytes(val[1:-1], "utf-8").decode("unicode_escape")
        out.append((kind, val))
    out.append(("end", None))
    return out


class Parser:
    def __init__(self, src):
        self.t = tokenize(src)
        self.i = 0

    def peek(self, val=None):
        k, v = self.t[self.i]
        if val is None:
            return k, v
        return k == "op" and v == val or (k == "id" and v == val)

    def take(self, val=None):
        k, v = self.t[self.i]
        if val is not None and v != val:
            raise CelError("expected %r, found %r" % (val, v))
        self.i += 1
        return k, v

    def parse(self):
        e = self.expr()
        if self.t[self.i][0] != "end":
            raise CelError("trailing input")
        return e

    def expr(self):
        c = self.bin_or()
        if self.peek("?"):
            self.take("?")
            a = self.expr()
            self.take(":")
            b = self.expr()
            return ("cond", c, a, b)
        return c

    def bin_or(self):
        e = self.bin_and()
        while self.peek("||"):
            self.take()
            e = ("or", e, self.bin_and())
        return e

    def bin_and(self):
        e = self.rel()
        while self.peek("&&"):
            self.take()
            e = ("and", e, self.rel())
        return e

    def rel(self):
        e = self.add()
        while True:
            k, v = self.peek()
            if (k == "op" and v in ("==", "!=", "<", "<=", ">", ">=")) or (k == "id" and v == "in"):
                self.take()
                e = ("bin", v, e, self.add())
            else:
                return e

    def add(self):
        e = self.mul()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            e = ("bin", op, e, self.mul())
        return e

    def mul(self):
        e = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            e = ("bin", op, e, self.unary())
        return e

    def unary(self):
        if self.peek("!"):
            self.take()
            return ("not", self.unary())
        if self.peek("-"):
            self.take()
            return ("neg", self.unary())
        return self.postfix()

    def args(self):
        self.take("(")
        out = []
        if not self.peek(")"):
            out.append(self.expr())
            while self.peek(","):
                self.take()
                out.append(self.expr())
        self.take(")")
        return out

    def postfix(self):
        e = self.primary()
        while True:
            if self.peek("."):
                self.take()
                k, name = self.take()
                if k != "id":
                    raise CelError("expected a field name")
                if self.peek("("):
                    e = ("call", name, e, self.args())
                else:
                    e = ("sel", e, name)
            elif self.peek("["):
                self.take()
                idx = self.expr()
                self.take("]")
                e = ("idx", e, idx)
            else:
                return e

    def primary(self):
        k, v = self.take()
        if k in ("num", "str"):
            return ("lit", v)
        if k == "id":
            if v in ("true", "false"):
                return ("lit", v == "true")
            if v == "null":
                return ("lit", None)
            if self.peek("("):
                return ("call", v, None, self.args())
            return ("var", v)
        if k == "op" and v == "(":
            e = self.expr()
            self.take(")")
            return e
        if k == "op" and v == "[":
            items = []
            if not self.peek("]"):
                items.append(self.expr())
                while self.peek(","):
                    self.take()
                    items.append(self.expr())
            self.take("]")
            return ("list", items)
        if k == "op" and v == "{":
            items = []
            if not self.peek("}"):
                while True:
                    key = self.expr()
                    self.take(":")
                    items.append((key, self.expr()))
                    if not self.peek(","):
                        break
                    self.take()
            self.take("}")
            return ("map", items)
        raise CelError("unexpected %r" % (v,))


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def ev(e, env):
    op = e[0]
    if op == "lit":
        return e[1]
    if op == "var":
        if e[1] not in env:
            raise CelError("undeclared reference to %r" % e[1])
        return env[e[1]]
    if op == "sel":
        base = ev(e[1], env)
        if not isinstance(base, dict) or e[2] not in base:
            raise CelError("no such key: %s" % e[2])
        return base[e[2]]
    if op == "idx":
        base, i = ev(e[1], env), ev(e[2], env)
        try:
            return base[i]
        except (KeyError, IndexError, TypeError):
            raise CelError("invalid index")
    if op == "list":
        return [ev(x, env) for x in e[1]]
    if op == "map":
        return {ev(k, env): ev(v, env) for k, v in e[1]}
    if op == "cond":
        c = ev(e[1], env)
        if not isinstance(c, bool):
            raise CelError("condition is not a bool")
        return ev(e[2] if c else e[3], env)
    if op in ("and", "or"):
        a = ev(e[1], env)
        if not isinstance(a, bool):
            raise CelError("operand is not a bool")
        if op == "and" and not a:
            return False
        if op == "or" and a:
            return True
        b = ev(e[2], env)
        if not isinstance(b, bool):
            raise CelError("operand is not a bool")
        return b
    if op == "not":
        a = ev(e[1], env)
        if not isinstance(a, bool):
            raise CelError("operand is not a bool")
        return not a
    if op == "neg":
        a = ev(e[1], env)
        if not _num(a):
            raise CelError("operand is not a number")
        return -a
    if op == "bin":
        return _bin(e[1], ev(e[2], env), ev(e[3], env))
    if op == "call":
        return _call(e[1], e[2], e[3], env)
    raise CelError("unknown node")


def _bin(op, a, b):
    if op == "==":
        return a == b and type(a) is type(b) or (_num(a) and _num(b) and a == b)
    if op == "!=":
        return not _bin("==", a, b)
    if op == "in":
        if isinstance(b, (list, dict)):
            return a in b
        raise CelError("in needs a list or map")
    if op in ("<", "<=", ">", ">="):
        if not ((_num(a) and _num(b)) or (isinstance(a, str) and isinstance(b, str))):
            raise CelError("no such overload")
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "+":
        if (_num(a) and _num(b)) or (isinstance(a, str) and isinstance(b, str)) or \
                (isinstance(a, list) and isinstance(b, list)):
            return a + b
        raise CelError("no such overload")
    if not (_num(a) and _num(b)):
        raise CelError("no such overload")
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise CelError("division by zero")
    if op == "/":
        return a // b if isinstance(a, int) and isinstance(b, int) else a / b
    if op == "%":
        return a % b
    raise CelError("unknown operator")


MACROS = ("all", "exists", "exists_one", "filter", "map")


def _call(name, target, args, env):
    if name == "has" and target is None:
        if len(args) != 1 or args[0][0] != "sel":
            raise CelError("has() needs a field selection")
        base = ev(args[0][1], env)
        if not isinstance(base, dict):
            raise CelError("has() on a non-object")
        return args[0][2] in base
    if name in MACROS and target is not None:
        coll = ev(target, env)
        if len(args) != 2 or args[0][0] != "var":
            raise CelError("bad macro")
        var = args[0][1]
        elems = list(coll.keys()) if isinstance(coll, dict) else coll
        if not isinstance(elems, list):
            raise CelError("macro on a non-list")

        def f(x):
            env2 = dict(env)
            env2[var] = x
            return ev(args[1], env2)
        if name == "map":
            return [f(x) for x in elems]
        res = [f(x) for x in elems]
        if name != "map" and not all(isinstance(r, bool) for r in res):
            raise CelError("predicate is not a bool")
        if name == "all":
            return all(res)
        if name == "exists":
            return any(res)
        if name == "exists_one":
            return sum(res) == 1
        return [x for x, r in zip(elems, res) if r]
    vals = [ev(a, env) for a in args]
    if target is not None:
        vals = [ev(target, env)] + vals
    if name == "size" and len(vals) == 1 and isinstance(vals[0], (str, list, dict)):
        return len(vals[0])
    if len(vals) == 2 and all(isinstance(v, str) for v in vals):
        s, x = vals
        if name == "startsWith":
            return s.startswith(x)
        if name == "endsWith":
            return s.endswith(x)
        if name == "contains":
            return x in s
        if name == "matches":
            try:
                return re.search(x, s) is not None
            except re.error:
                raise CelError("bad regex")
    if len(vals) == 1:
        v = vals[0]
        if name == "int" and (isinstance(v, (int, float, str)) and not isinstance(v, bool)):
            try:
                return int(v)
            except ValueError:
                raise CelError("bad int")
        if name == "double" and _num(v):
            return float(v)
        if name == "string" and isinstance(v, (str, int, float, bool)):
            return v if isinstance(v, str) else (("true" if v else "false") if isinstance(v, bool) else str(v))
        if name == "lowerAscii" and isinstance(v, str):
            return v.lower()
        if name == "upperAscii" and isinstance(v, str):
            return v.upper()
    raise CelError("unsupported function %s" % name)


_CACHE = {}


def evaluate(rule, self_value):
    """Returns True/False for a rule on `self`; raises CelError when the subset cannot decide."""
    if "oldSelf" in rule:
        raise CelError("transition rules are not evaluated")
    ast = _CACHE.get(rule)
    if ast is None:
        ast = Parser(rule).parse()
        if len(_CACHE) < 1000:
            _CACHE[rule] = ast
    res = ev(ast, {"self": self_value})
    if not isinstance(res, bool):
        raise CelError("rule did not return a bool")
    return res
