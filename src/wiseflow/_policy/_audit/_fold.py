"""Constant folding: the string (or bytes, or number) a plain expression builds.

Malicious code hides names and payloads by building them: ``"sub" + "process"``,
``"".join(map(chr, [101, 118, 97, 108]))``, ``"lave"[::-1]``, ``bytes.fromhex(...)``,
``codecs.decode("rkrp", "rot13")``. :func:`fold` recomputes such values without running
anything. Parts it cannot know (a variable, a call it does not model) become
:data:`UNKNOWN`, so a path like ``os.path.join(home, ".bashrc")`` still reads as
``"\ufffd/.bashrc"``. The result says whether a trick was needed (``tricky``): a value
spelled out literally is not obfuscated, one rebuilt from character codes is.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import zlib
from collections.abc import Callable
from typing import Final, NamedTuple

__all__ = ["UNKNOWN", "Folded", "fold", "items"]

UNKNOWN: Final = "\ufffd"
_MAX = 1 << 16  # folded values are capped: folding must never cost more than the source
_DEPTH = 40

Value = str | bytes | int


class Folded(NamedTuple):
    """A folded value and whether building it took an obfuscation trick."""

    value: Value
    tricky: bool


Lookup = Callable[[str], "Folded | None"]
Resolve = Callable[[ast.expr], "str | None"]
Texts = Callable[[str], "str | None"]
Seqs = Callable[[str], "list[Folded] | None"]

_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64.b64decode": base64.b64decode,
    "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
    "base64.decodebytes": base64.decodebytes,
    "base64.b32decode": base64.b32decode,
    "base64.b16decode": base64.b16decode,
    "base64.b85decode": base64.b85decode,
    "base64.a85decode": base64.a85decode,
    "binascii.unhexlify": binascii.unhexlify,
    "binascii.a2b_hex": binascii.a2b_hex,
    "binascii.a2b_base64": binascii.a2b_base64,
    "bytes.fromhex": lambda b: bytes.fromhex(b.decode("ascii")),
    "zlib.decompress": lambda b: zlib.decompressobj().decompress(b, _MAX),
}


def _as_bytes(v: Value) -> bytes | None:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str) and v.isascii():
        return v.encode("ascii")
    return None


def _small(v: Value) -> bool:
    return (not isinstance(v, int) and len(v) <= _MAX) or (isinstance(v, int) and abs(v) < 1 << 64)


class _Folder:
    def __init__(
        self, lookup: Lookup, resolve: Resolve, texts: Texts | None, seqs: Seqs | None
    ) -> None:
        self.lookup = lookup
        self.resolve = resolve
        self.texts = texts
        self.seqs = seqs
        self.depth = 0

    def fold(self, node: ast.AST) -> Folded | None:
        if self.depth > _DEPTH:
            return None
        self.depth += 1
        try:
            out = self._fold(node)
        except (ValueError, TypeError, OverflowError, binascii.Error, zlib.error, LookupError):
            out = None
        finally:
            self.depth -= 1
        return out if out is None or _small(out.value) else None

    def text(self, node: ast.AST) -> Folded:
        """Like fold, but unknown parts read as UNKNOWN (for matching paths and URLs)."""
        got = self.fold(node)
        if got is not None:
            return got
        if isinstance(node, ast.Name) and self.texts is not None:
            known = self.texts(node.id)
            return Folded(known if known is not None else UNKNOWN, False)
        if isinstance(node, ast.JoinedStr):
            parts = [self.text(v) if isinstance(v, ast.FormattedValue) else self.fold(v)
                     for v in node.values]  # fmt: skip
            return Folded("".join(_str(p) for p in parts), any(p and p.tricky for p in parts))
        if isinstance(node, ast.FormattedValue):
            return self.text(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div, ast.Mod)):
            left, right = self.text(node.left), self.text(node.right)
            sep = "/" if isinstance(node.op, ast.Div) else ""
            return Folded(_str(left) + sep + _str(right), left.tricky or right.tricky)
        if isinstance(node, ast.Call):
            name = self.resolve(node.func) or ""
            if name.endswith(("path.join", "Path", "PurePath", "PosixPath", "joinpath")):
                pieces = [self.text(a) for a in node.args]
                if name.endswith("joinpath") and isinstance(node.func, ast.Attribute):
                    pieces.insert(0, self.text(node.func.value))
                return Folded("/".join(_str(p) for p in pieces), any(p.tricky for p in pieces))
            if name.endswith(("expanduser", "expandvars", "abspath", "realpath", "normpath")):
                return self.text(node.args[0]) if node.args else Folded(UNKNOWN, False)
            if name in ("pathlib.Path.home", "Path.home") or name.endswith(".home"):
                return Folded("~", False)
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute"):
                return self.text(node.func.value)
        return Folded(UNKNOWN, False)

    def _fold(self, node: ast.AST) -> Folded | None:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (str, bytes, int)):
                return None
            return Folded(v, False)
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.JoinedStr):
            return self._joined(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return None
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.fold(node.operand)
            if inner and isinstance(inner.value, int):
                return Folded(-inner.value, inner.tricky)
        return None

    def _binop(self, node: ast.BinOp) -> Folded | None:
        left, right = self.fold(node.left), self.fold(node.right)
        if left is None:
            return None
        tricky = left.tricky or bool(right and right.tricky)
        a = left.value
        if isinstance(node.op, ast.Mod) and isinstance(a, str):
            args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            vals = [self.fold(x) for x in args]
            if all(vals):
                return Folded(a % tuple(v.value for v in vals if v), tricky)
            return None
        if right is None:
            return None
        b = right.value
        if isinstance(a, int) and isinstance(b, int):
            ops: dict[type[ast.operator], Callable[[int, int], int]] = {
                ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__,
                ast.FloorDiv: int.__floordiv__, ast.Mod: int.__mod__, ast.BitXor: int.__xor__,
                ast.BitOr: int.__or__, ast.BitAnd: int.__and__,
            }  # fmt: skip
            op = ops.get(type(node.op))
            return Folded(op(a, b), tricky) if op else None
        if isinstance(node.op, ast.Add) and type(a) is type(b):
            return Folded(a + b, tricky)  # type: ignore[operator]
        if isinstance(node.op, ast.Mult) and isinstance(b, int) and not isinstance(a, int):
            return Folded(a * b, tricky) if len(a) * b <= _MAX else None
        return None

    def _joined(self, node: ast.JoinedStr) -> Folded | None:
        out, tricky = [], False
        for part in node.values:
            got = self.fold(part.value if isinstance(part, ast.FormattedValue) else part)
            if got is None:
                return None
            out.append(_str(got))
            tricky = tricky or got.tricky
        return Folded("".join(out), tricky)

    def _subscript(self, node: ast.Subscript) -> Folded | None:
        base = self.fold(node.value)
        if base is None or isinstance(base.value, int):
            return None
        sl = node.slice
        if isinstance(sl, ast.Slice):
            bounds = [self.fold(x) if x else None for x in (sl.lower, sl.upper, sl.step)]
            ints = [b.value if b and isinstance(b.value, int) else None for b in bounds]
            stepped = ints[2] is not None and ints[2] != 1  # [::-1], [::2]: hiding, not trimming
            return Folded(base.value[ints[0] : ints[1] : ints[2]], base.tricky or stepped)
        idx = self.fold(sl)
        if idx and isinstance(idx.value, int):
            got = base.value[idx.value]
            return Folded(got if isinstance(got, (str, int)) else bytes([got]), base.tricky)
        return None

    def _items(self, node: ast.AST) -> list[Folded] | None:
        """The folded elements of a list, tuple, string, map(chr, ...) or comprehension."""
        if isinstance(node, ast.Name) and self.seqs is not None:
            known = self.seqs(node.id)
            if known is not None:
                return known
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            elts = [self.fold(e) for e in node.elts]
            return None if None in elts else [g for g in elts if g]
        if isinstance(node, ast.Call):
            name = self.resolve(node.func)
            if name == "map" and len(node.args) == 2 and self.resolve(node.args[0]) == "chr":
                items = self._items(node.args[1])
                return [_chr(i) for i in items] if items and all(_isint(i) for i in items) else None
            if name in ("reversed", "list", "tuple") and node.args:
                items = self._items(node.args[0])
                return items[::-1] if items is not None and name == "reversed" else items
            if name == "range" and node.args:
                vals = [self.fold(a) for a in node.args]
                if all(v and isinstance(v.value, int) for v in vals):
                    ints = [int(v.value) for v in vals if v]
                    r = range(*ints)
                    return [Folded(i, False) for i in r] if len(r) <= 4096 else None
            return None
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)) and len(node.generators) == 1:
            gen = node.generators[0]
            items = self._items(gen.iter)
            if items is None or not isinstance(gen.target, ast.Name) or gen.ifs:
                return None
            var, outer = gen.target.id, self.lookup
            out: list[Folded] = []
            for item in items:
                self.lookup = lambda n, i=item: i if n == var else outer(n)  # type: ignore[misc]
                try:
                    each = self.fold(node.elt)
                finally:
                    self.lookup = outer
                if each is None:
                    return None
                out.append(Folded(each.value, True))
            return out
        whole = self.fold(node)
        if whole is not None and isinstance(whole.value, str):
            return [Folded(c, whole.tricky) for c in whole.value]
        if whole is not None and isinstance(whole.value, bytes):
            return [Folded(c, whole.tricky) for c in whole.value]
        return None

    def _call(self, node: ast.Call) -> Folded | None:
        name = self.resolve(node.func) or ""
        args = node.args
        if name == "chr" and len(args) == 1:
            got = self.fold(args[0])
            return Folded(chr(got.value), True) if got and isinstance(got.value, int) else None
        if name in ("str", "bytes", "bytearray") and len(args) == 1:
            if name != "str" and isinstance(args[0], (ast.List, ast.Tuple)):
                items = self._items(args[0])
                if items and all(_isint(i) for i in items):
                    return Folded(bytes(int(i.value) for i in items), True)
                return None
            return self.fold(args[0])
        if name in ("int",) and args:
            got = self.fold(args[0])
            base = self.fold(args[1]) if len(args) > 1 else None
            if got and isinstance(got.value, str):
                return Folded(int(got.value, int(base.value) if base else 10), True)
            return None
        if name in _DECODERS and args:
            got = self.fold(args[0])
            raw = _as_bytes(got.value) if got else None
            return Folded(_DECODERS[name](raw), True) if raw is not None else None
        if name == "codecs.decode" and args:
            return self._codecs(node)
        if isinstance(node.func, ast.Attribute):
            return self._method(node, node.func)
        return None

    def _codecs(self, node: ast.Call) -> Folded | None:
        got = self.fold(node.args[0])
        enc = self.fold(node.args[1]) if len(node.args) > 1 else None
        if got is None or enc is None or not isinstance(enc.value, str):
            return None
        encoding = enc.value.lower().replace("-", "_")
        if encoding in ("rot13", "rot_13") and isinstance(got.value, str):
            return Folded(codecs.decode(got.value, "rot13"), True)
        raw = _as_bytes(got.value)
        if raw is None:
            return None
        if encoding in ("hex", "hex_codec"):
            return Folded(bytes.fromhex(raw.decode("ascii")), True)
        if encoding in ("base64", "base64_codec"):
            return Folded(base64.b64decode(raw), True)
        if encoding in ("zlib", "zlib_codec"):
            return Folded(zlib.decompressobj().decompress(raw, _MAX), True)
        return Folded(raw.decode(encoding), got.tricky)

    def _method(self, node: ast.Call, func: ast.Attribute) -> Folded | None:
        attr = func.attr
        if attr == "join" and len(node.args) == 1:
            sep = self.fold(func.value)
            items = self._items(node.args[0])
            if sep is None or items is None:
                return None
            parts = [_str(i) if not isinstance(i.value, int) else chr(i.value) for i in items]
            tricky = (
                sep.tricky
                or any(i.tricky for i in items)
                or (len(parts) > 2 and all(len(p) <= 2 for p in parts))
            )
            return Folded(_str(sep).join(parts), tricky)
        recv = self.fold(func.value)
        if recv is None:
            return None
        v = recv.value
        args = [self.fold(a) for a in node.args]
        if None in args:
            return None
        vals = [a.value for a in args if a]
        tricky = recv.tricky or any(a and a.tricky for a in args)
        if isinstance(v, bytes) and attr == "decode":
            enc = str(vals[0]) if vals else "utf-8"
            return Folded(v.decode(enc, "replace"), tricky)
        if isinstance(v, str) and attr == "encode":
            return Folded(v.encode(str(vals[0]) if vals else "utf-8"), tricky)
        if isinstance(v, str) and attr == "decode" and vals and str(vals[0]).startswith("rot"):
            return Folded(codecs.decode(v, "rot13"), True)
        if isinstance(v, str) and attr == "format":
            kw = {k.arg: self.fold(k.value) for k in node.keywords if k.arg}
            if any(x is None for x in kw.values()):
                return None
            return Folded(v.format(*vals, **{k: x.value for k, x in kw.items() if x}), tricky)
        if attr in ("replace", "upper", "lower", "strip", "lstrip", "rstrip", "swapcase", "title"):
            return Folded(getattr(v, attr)(*vals), tricky or attr == "replace")
        if attr == "translate":
            return None
        return None


def _str(f: Folded | None) -> str:
    if f is None:
        return UNKNOWN
    v = f.value
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return str(v)


def _isint(f: Folded) -> bool:
    return isinstance(f.value, int)


def _chr(f: Folded) -> Folded:
    return Folded(chr(int(f.value)), True)


def items(node: ast.AST, lookup: Lookup, resolve: Resolve, seqs: Seqs) -> list[Folded] | None:
    """The folded elements of a literal sequence (or a name bound to one)."""
    return _Folder(lookup, resolve, None, seqs)._items(node)


def fold(
    node: ast.AST,
    lookup: Lookup,
    resolve: Resolve,
    *,
    texts: Texts | None = None,
    seqs: Seqs | None = None,
) -> Folded | None:
    """The value ``node`` builds, or None.

    With ``texts`` (what is known of names' partial values), unknown parts read as UNKNOWN
    instead: ``os.path.join(home, ".bashrc")`` folds to ``"\ufffd/.bashrc"``.
    """
    folder = _Folder(lookup, resolve, texts, seqs)
    return folder.text(node) if texts is not None else folder.fold(node)
