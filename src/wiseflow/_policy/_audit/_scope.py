"""What the audit knows about a module's names while it walks it.

Three tables, filled in statement order and scoped per function: ``aliases`` (what a name
stands for: ``sp`` -> ``subprocess``, ``r`` -> ``requests.get()``, ``x`` -> ``eval``),
``consts`` (the value a name was given, folded), and ``labels`` (a light taint: where a
name's value came from -- decoded blob, network response, environment, secret file, image).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Final, NamedTuple

from ._fold import UNKNOWN, Folded, fold, items
from ._rules import RANK, SENSITIVE_NAMES, Rule, matching, raise_to

__all__ = ["CODE_NAMES", "Finding", "Scope", "secret_name", "sensitive", "xors"]

# taint labels
DECODED, NET, ENVDUMP, ENV, SECRET = "decoded", "net", "envdump", "env", "secret"
SYSINFO, FILE, IMAGE, OBF, SPY = "sysinfo", "file", "image", "obfuscated", "spy"
USERFILES = "userfiles"  # paths found by walking the whole home or root folder
HIDDEN: Final = frozenset({DECODED, NET, IMAGE, OBF})  # data that must never become code
CODE_NAMES: Final = frozenset({"exec", "eval", "__import__", "compile", "execfile"})

_BUILTINS_PREFIXES = ("builtins.", "__builtins__.", "__builtin__.")
_BUILTINS = frozenset({"builtins", "__builtins__", "__builtin__"})
_IMPORTERS = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})
_SANITISERS = frozenset({"len", "bool", "isinstance", "hasattr", "type", "id", "callable"})
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASS|PWD|KEY|AUTH|CRED|SESSION|COOKIE|PRIVATE|WEBHOOK|^AWS_|^AZURE_|^GCP_",
    re.IGNORECASE,
)
_DECODER_TAILS = frozenset(
    {"b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "urlsafe_b64decode",
     "standard_b64decode", "decodebytes", "decodestring", "unhexlify", "a2b_base64",
     "a2b_hex", "fromhex", "decompress", "decrypt", "loads"}
)  # fmt: skip
_UNPICKLERS = ("marshal", "pickle", "dill", "cPickle")
_CODECS = ("hex", "rot13", "rot_13", "base64", "zlib")
_NET_TAILS = frozenset({"urlopen", "urlretrieve", "recv", "recv_into", "recvfrom", "getresponse"})
_NET_MODULES = ("requests.", "httpx.", "aiohttp.", "urllib3.", "urllib.request.", "pycurl.")
_SPY_TAILS = frozenset({"clipboard_get", "GetClipboardData", "paste", "grab", "screenshot"})
_IMAGE_MODULES = ("PIL.", "cv2.", "imageio.", "stegano.", "steganography.", "lsb.", "Image.")
_WALKS = frozenset({"walk", "glob", "iglob", "listdir", "scandir", "rglob", "iterdir"})
_ROOTS = frozenset({"~", "", "C:", "/home", "/Users", "%USERPROFILE%", "$HOME"})
_PATHISH = frozenset(
    {"open", "read_text", "read_bytes", "connect", "copy", "copyfile", "execute", "glob",
     "iglob", "walk", "listdir", "scandir", "rglob", "iterdir"}
)  # fmt: skip
# What identifies a machine or its user (python_version or cpu_count do not)
_SYSINFO = frozenset(
    {"socket.gethostname", "socket.getfqdn", "getpass.getuser", "os.getlogin", "os.getcwd",
     "os.uname", "uuid.getnode", "os.getuid", "platform.node", "platform.uname",
     "platform.platform", "platform.version", "os.listdir", "psutil.users",
     "psutil.process_iter", "psutil.net_if_addrs"}
)  # fmt: skip
# Names that, used bare and never bound in the file, mean one thing (from x import *, snippets)
_BARE: Final = {
    "Popen": "subprocess.Popen", "check_output": "subprocess.check_output",
    "check_call": "subprocess.check_call", "getoutput": "subprocess.getoutput",
    "system": "os.system", "popen": "os.popen", "getenv": "os.getenv", "environ": "os.environ",
    "startfile": "os.startfile", "urlopen": "urllib.request.urlopen",
    "urlretrieve": "urllib.request.urlretrieve", "b64decode": "base64.b64decode",
    "unhexlify": "binascii.unhexlify", "gethostname": "socket.gethostname",
    "getuser": "getpass.getuser", "rmtree": "shutil.rmtree",
}  # fmt: skip
_SECRET_MODULES = ("browser_cookie", "keyring.", "win32crypt.")
_SECRET_CALLS = frozenset(
    {"keyring.get_password", "keyring.get_credential", "win32crypt.CryptUnprotectData"}
)


class Finding(NamedTuple):
    """One statement the audit reports: rule, severity, message, line and a detail."""

    rule: str
    severity: str
    message: str
    line: int
    detail: str = ""


def secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    return bool(_SECRET_NAME.search(name))


class Scope:
    """Name tables, folding, taint and the findings list of one module's walk."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[Finding] = []
        self.aliases: dict[str, str] = {}
        self.consts: dict[str, Folded] = {}
        self.texts: dict[str, str] = {}  # name -> partial value (UNKNOWN for unknown parts)
        self.seqs: dict[str, list[Folded]] = {}  # name -> literal list/tuple/dict values
        self.plain: set[str] = set()  # names bound to a literal as written
        self.memo: dict[int, str | None] = {}  # id(node) -> resolve(node), until a rebinding
        self.returns: dict[str, frozenset[str]] = {}  # local function -> labels it returns
        self.inner: Callable[[str], list[Finding]] | None = None  # scans code held in a string
        self.members: dict[str, frozenset[str]] = {}  # "self.token" -> labels, class-wide
        self.labels: dict[str, frozenset[str]] = {}
        self.paths: dict[str, str] = {}  # file object name -> the path it was opened at
        self.downloaded: set[str] = set()  # paths (folded text) written from the network
        self.depth = 0  # function nesting (0: runs at import)

    # -- reporting -------------------------------------------------------------------
    def add(self, rule: Rule | tuple[str, str, str], line: int, detail: str = "") -> None:
        name, severity, message = rule
        self.found.append(Finding(name, severity, message, line, detail))

    def add_at_least(self, rule: Rule, floor: str, line: int, detail: str = "") -> None:
        self.add(Rule(rule.rule, raise_to(rule.severity, floor), rule.message), line, detail)

    # -- names -----------------------------------------------------------------------
    def lookup(self, name: str) -> Folded | None:
        return self.consts.get(name)

    def fold(self, node: ast.AST) -> Folded | None:
        return fold(node, self.lookup, self.resolve, seqs=self.seqs.get)

    def items(self, node: ast.AST) -> list[Folded] | None:
        """The literal elements of a list, tuple, set or dict's values, if all are known."""
        if isinstance(node, ast.Dict):
            node = ast.List(elts=[v for v in node.values if v is not None], ctx=ast.Load())
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Name)):
            return None
        return items(node, self.lookup, self.resolve, self.seqs.get)

    def text(self, node: ast.AST) -> str:
        """The string ``node`` builds, unknown parts as UNKNOWN (for paths and commands)."""
        got = fold(node, self.lookup, self.resolve, texts=self.texts.get, seqs=self.seqs.get)
        if got is None:
            return UNKNOWN
        v = got.value
        return v.decode("latin-1") if isinstance(v, bytes) else str(v)

    def literal(self, node: ast.AST) -> str | None:
        """The string ``node`` builds if it is known exactly."""
        got = self.fold(node)
        if got is None or isinstance(got.value, int):
            return None
        v = got.value
        return v.decode("latin-1") if isinstance(v, bytes) else v

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression stands for, through aliases and indirection."""
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        name = self._resolve(node)
        if name is not None:
            for prefix in _BUILTINS_PREFIXES:
                if name.startswith(prefix):
                    name = name[len(prefix) :]
                    break
        self.memo[key] = name
        return name

    def forget(self) -> None:
        """Drop memoised resolutions (a name was rebound)."""
        self.memo.clear()

    def _resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            name = node.id
            if name in self.aliases:
                return self.aliases[name]
            if name in _BARE and name not in self.labels:
                return _BARE[name]  # a snippet or a star import: the usual meaning
            return name
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = self.resolve(node.func)
            if func in _IMPORTERS and node.args:
                return self.literal(node.args[0])
            if isinstance(node.func, ast.Call) and node.args:
                getter = self.resolve(node.func.func)
                if getter in ("operator.attrgetter", "operator.methodcaller") and node.func.args:
                    attr, base = self.literal(node.func.args[0]), self.resolve(node.args[0])
                    return f"{base}.{attr}" if attr and base else None
            if func == "getattr" and len(node.args) >= 2:
                base, attr = self.resolve(node.args[0]), self.literal(node.args[1])
                if attr is not None:
                    return attr if base in _BUILTINS or base is None else f"{base}.{attr}"
                return None
            if func in ("vars", "globals", "locals") and not node.args:
                return "globals()"
            if func == "vars" and node.args:
                return self.resolve(node.args[0])
            if func and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                base = self.resolve(node.func.value)
                if base and (base in _BUILTINS or base.endswith("__dict__")) and node.args:
                    key = self.literal(node.args[0])
                    return self._member(base, key)
            return f"{func}()" if func else None
        if isinstance(node, ast.Subscript):
            base = self.resolve(node.value)
            if base and (base in _BUILTINS or base.endswith(("__dict__", "globals()"))):
                return self._member(base, self.literal(node.slice))
            if base == "sys.modules":
                return self.literal(node.slice)
        return None

    @staticmethod
    def _member(base: str, key: str | None) -> str | None:
        if key is None:
            return None
        owner = base.removesuffix(".__dict__").removesuffix("__dict__")
        return key if owner in _BUILTINS or owner in ("", "globals()") else f"{owner}.{key}"

    @staticmethod
    def local(name: str) -> str:
        """``self.helper`` and ``cls.helper`` name the local function ``helper``."""
        head, _, rest = name.partition(".")
        return rest if head in ("self", "cls") and "." not in rest else name

    def is_module(self, name: str | None) -> bool:
        """Whether ``name`` is a module this file imported (or builtins)."""
        return bool(name) and (name in _BUILTINS or name in self.aliases.values())

    # -- taint -----------------------------------------------------------------------
    def env_read(self, node: ast.AST) -> tuple[str, str] | None:
        """(label, variable) when ``node`` reads the environment; variable "*" for all."""
        if isinstance(node, ast.Subscript) and self.resolve(node.value) in ("os.environ",):
            var = self.literal(node.slice) or UNKNOWN
            return (SECRET if secret_name(var) else ENV), var
        if not isinstance(node, ast.Call):
            return None
        name = self.resolve(node.func) or ""
        if name in ("os.getenv", "os.environ.get", "os.getenvb", "os.environ.setdefault"):
            var = (self.literal(node.args[0]) if node.args else None) or UNKNOWN
            return (SECRET if secret_name(var) else ENV), var
        if name in ("os.environ.copy", "os.environ.items", "os.environ.keys", "os.environ.values"):
            return ENVDUMP, "*"
        return None

    def labels_of(self, node: ast.AST) -> frozenset[str]:
        """Where the value of ``node`` may come from (see the module docstring)."""
        if isinstance(node, ast.Name):
            got = self.labels.get(node.id, frozenset())
            return got | {ENVDUMP} if self.aliases.get(node.id) == "os.environ" else got
        if isinstance(node, ast.Attribute):
            name = self.resolve(node) or ""
            if name in ("os.environ", "os.environb"):
                return frozenset({ENVDUMP})
            if name.startswith(_SECRET_MODULES):
                return frozenset({SECRET})
            if name in self.members:
                return self.members[name]
            return self.labels_of(node.value)
        env = self.env_read(node)
        if env:
            return frozenset({env[0], f"var:{env[1]}"})
        if isinstance(node, ast.Call):
            return self._call_labels(node)
        if isinstance(node, ast.Constant):
            return frozenset()
        out: frozenset[str] = frozenset({DECODED}) if xors(node) else frozenset()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr, ast.comprehension)):
                out |= self.labels_of(child)
        return out

    def _call_labels(self, node: ast.Call) -> frozenset[str]:
        name = self.resolve(node.func) or ""
        if name in _SANITISERS:
            return frozenset()
        out = set(self.source_labels(name, node))
        out |= self.returns.get(self.local(name), frozenset())
        parts: list[ast.AST] = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(node.func, ast.Attribute):
            parts.append(node.func.value)
        elif isinstance(node.func, ast.Name):
            parts.append(node.func)  # calling a tainted callable (a cookie-jar function)
        for part in parts:
            out |= self.labels_of(part)
        return frozenset(out)

    def source_labels(self, name: str, node: ast.Call) -> set[str]:
        """The labels a call adds by itself (it decodes, fetches, reads a secret...)."""
        tail = name.rsplit(".", 1)[-1].removesuffix("()")
        out: set[str] = set()
        decoder = tail in _DECODER_TAILS and (tail != "loads" or name.startswith(_UNPICKLERS))
        codec = tail == "decode" and bool(node.args) and self.literal(node.args[0]) in _CODECS
        if decoder or codec or name == "codecs.decode":
            out.add(DECODED)
        if tail in _NET_TAILS or name.startswith(_NET_MODULES) or ".http." in f".{name}":
            out.add(NET)
        if name in _SYSINFO:
            out.add(SYSINFO)
        if tail in _SPY_TAILS and (name.startswith(("pyperclip", "clipboard", "PIL", "pyautogui",
                                                    "ImageGrab", "win32clipboard", "mss"))
                                   or tail in ("clipboard_get", "GetClipboardData")):  # fmt: skip
            out.add(SPY)
        if name.startswith(_IMAGE_MODULES) or tail in ("reveal", "getpixel", "getdata"):
            out.add(IMAGE)
        if name in _SECRET_CALLS or name.startswith(("browser_cookie", "keyring.")):
            out.add(SECRET)
        if tail in _PATHISH:
            for arg in node.args[:1]:
                text = self.text(arg)
                if tail in _WALKS and text.rstrip("/\\") in _ROOTS:
                    out.add(USERFILES)
                if matching(text, "credential"):
                    out.add(SECRET)
                elif tail in ("open", "read_text", "read_bytes"):
                    out.add(FILE)
            if not node.args and tail in ("read_text", "read_bytes"):
                out.add(FILE)
        elif name.endswith(("path.join", "expanduser", "Path", "joinpath")) and matching(
            self.text(node), "credential"
        ):
            out.add(SECRET)  # the path itself names a credential store
        return out


def xors(node: ast.AST) -> bool:
    """A comprehension that XORs each element: the usual one-line payload decoder."""
    return isinstance(node, (ast.GeneratorExp, ast.ListComp)) and any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitXor) for n in ast.walk(node.elt)
    )


def sensitive(value: str) -> bool:
    """Whether a string names something only obfuscated code spells indirectly."""
    return value in SENSITIVE_NAMES or bool(matching(value, "payload", "credential"))


def worst(findings: list[Finding]) -> str:
    """The highest severity among ``findings`` (``info`` when empty)."""
    return max((f.severity for f in findings), key=RANK.__getitem__, default="info")
