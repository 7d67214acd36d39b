"""Binding names while walking: assignments, loops, ``with``, function scopes, returns.

What a name stands for (alias), holds (folded value, partial path) and carries (taint)
is set here, in statement order; a function body gets its own copy of the tables, seeded
from the enclosing scope, and what it returns or does (sends, executes) is remembered for
its callers.
"""

from __future__ import annotations

import ast

from ._rules import Rule, matching
from ._scope import CODE_NAMES, ENVDUMP, IMAGE, Scope
from ._strings import judge_built, judge_string

__all__ = ["Bindings"]


class Bindings(Scope):
    """The binding half of the walk; subclassed by the scanner, which supplies ``visit``."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.wrappers: dict[str, str] = {}  # local function -> "net" | "code"
        self.saw: set[str] = set()  # what the function being walked does: "net", "code"
        self.ret: set[str] = set()  # labels of what the function being walked returns

    def visit(self, node: ast.AST) -> None:
        raise NotImplementedError  # the scanner's dispatch

    def _bind(self, target: ast.AST, value: ast.AST | None, labels: frozenset[str]) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            for i, elt in enumerate(target.elts):
                sub = values[i] if values and i < len(values) else None
                self._bind(elt, sub, self.labels_of(sub) if sub is not None else labels)
            return
        if isinstance(target, ast.Starred):
            self._bind(target.value, None, labels)
            return
        if isinstance(target, ast.Attribute) and self.resolve(target.value) in ("self", "cls"):
            self.members[f"{self.resolve(target.value)}.{target.attr}"] = labels
            return
        if not isinstance(target, ast.Name):
            return
        name = target.id
        self.forget()
        for table in (self.aliases, self.consts, self.texts, self.paths, self.seqs):
            table.pop(name, None)
        self.labels[name] = labels
        self.plain.discard(name)
        if value is None:
            return
        if isinstance(value, ast.Constant):
            self.plain.add(name)
        folded = self.fold(value)
        if folded is not None:
            self.consts[name] = folded
        seq = self.items(value)
        if seq is not None:
            self.seqs[name] = seq
        if isinstance(value, (ast.List, ast.Tuple)):  # an argv: its words, as a command line
            text = " ".join(self.text(e) for e in value.elts if not isinstance(e, ast.Starred))
        else:
            text = self.text(value)
        if text.strip("\ufffd"):
            self.texts[name] = text
        if isinstance(value, ast.Lambda) and any(
            isinstance(n, ast.Call) and self.resolve(n.func) in ("exec", "eval")
            for n in ast.walk(value.body)
        ):
            self.wrappers[name] = "code"  # run = lambda c: eval(compile(...))
        if isinstance(value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            resolved = self.resolve(value)
            if resolved and resolved != name:
                self.aliases[name] = resolved
                if isinstance(value, ast.Name) and resolved in CODE_NAMES:
                    self.add(Rule("obfuscation", "high", f"renames {resolved}"), value.lineno)
        if isinstance(value, ast.Call) and (self.resolve(value.func) or "").endswith("open"):
            first = value.args[0] if value.args else None
            if first is not None:
                self.paths[name] = self.text(first)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        labels = self.labels_of(node.value)
        for target in node.targets:
            self.visit_target(target)
            self._bind(target, node.value, labels)
        self._assigned(node.value, labels)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            labels = self.labels_of(node.value)
            self._bind(node.target, node.value, labels)
            self._assigned(node.value, labels)

    def _assigned(self, value: ast.expr, labels: frozenset[str]) -> None:
        """Judge a value by what it builds: hidden strings, paths, image bits."""
        if isinstance(value, ast.Constant):
            return
        before = len(self.found)
        judge_built(self, value)
        if len(self.found) == before and isinstance(value, (ast.BinOp, ast.Call, ast.JoinedStr)):
            text = self.text(value)
            if text.strip("\ufffd/") and matching(text, "credential", "persistence"):
                judge_string(self, text, value.lineno, tricky=False)
        if IMAGE in labels and any(
            isinstance(n, ast.BinOp) and isinstance(n.op, (ast.BitAnd, ast.Mod))
            and isinstance(n.right, ast.Constant) and n.right.value in (1, 2)
            for n in ast.walk(value)
        ):  # fmt: skip
            self.add(Rule("steganography", "high", "extracts the low bits of image data"),
                     value.lineno)  # fmt: skip

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            name = node.target.id
            labels = self.labels.get(name, frozenset()) | self.labels_of(node.value)
            joined = ast.BinOp(left=ast.Name(name, ast.Load()), op=node.op, right=node.value)
            self._bind(node.target, joined, labels)
        else:
            self.visit_target(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target, node.value, self.labels_of(node.value))

    def visit_target(self, target: ast.AST) -> None:
        if not isinstance(target, ast.Name):
            self.visit(target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        labels = self.labels_of(node.iter)
        if self.resolve(node.iter) == "os.environ":
            labels |= {ENVDUMP}
        if "secret" in labels and not any(f.line == node.lineno for f in self.found[-3:]):
            self.add(Rule("credential-access", "high", "walks a credential or wallet store"),
                     node.lineno)  # fmt: skip
        self._bind(node.target, None, labels)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, item.context_expr,
                           self.labels_of(item.context_expr))  # fmt: skip
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for dec in node.decorator_list:
                self.visit(dec)
            self.labels[node.name] = frozenset()
        saved = (dict(self.aliases), dict(self.consts), dict(self.texts), dict(self.labels),
                 dict(self.paths), dict(self.seqs))  # fmt: skip
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            for table in (self.aliases, self.consts, self.texts, self.paths, self.seqs):
                table.pop(arg.arg, None)
            self.labels[arg.arg] = frozenset()  # a parameter shadows a builtin of its name
        self.depth += 1
        self.forget()
        outer, self.saw = self.saw, set()
        outer_ret, self.ret = self.ret, set()
        try:
            body = [node.body] if isinstance(node, ast.Lambda) else node.body
            for stmt in body:
                self.visit(stmt)
            if not isinstance(node, ast.Lambda):
                if self.saw and self.depth <= 2:  # module functions and methods
                    self.wrappers[node.name] = "code" if "code" in self.saw else "net"
                if self.ret:
                    self.returns[node.name] = frozenset(self.ret)
        finally:
            self.ret = outer_ret
            self.saw |= outer
            self.depth -= 1
            self.aliases, self.consts, self.texts, self.labels, self.paths, self.seqs = saved
            self.forget()

    visit_AsyncFunctionDef = visit_FunctionDef

    visit_Lambda = visit_FunctionDef

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.ret |= self.labels_of(node.value)
