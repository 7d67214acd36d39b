"""Attack family: code written to slip past a static audit; the kernel must still hold."""

from __future__ import annotations

import errno
import os

import pytest
from sandbox_kit import RunnerFactory

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def hidden_import_socket(self):
        imp = getattr(__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__),
                      "get")("__imp" + "ort__")
        sock_mod = imp("".join(["so", "ck", "et"]))
        try:
            s = getattr(sock_mod, "socket")(2, 1)
            s.connect(("127.0.0.1", 22))
            return "connected"
        except OSError as exc:
            return exc.errno

    def subclasses_walk(self, cmd):
        for cls in ().__class__.__base__.__subclasses__():
            if cls.__name__ == "_wrap_close":
                system = cls.__init__.__globals__["system"]
                return system(cmd)
        return "not found"

    def eval_open(self, path):
        code = "op" + "en(" + repr(path) + ").read()"
        try:
            return eval(code)
        except OSError as exc:
            return exc.errno

    def builtins_via_frame(self, path):
        import inspect
        b = inspect.currentframe().f_builtins
        try:
            return b["open"](path).read()
        except OSError as exc:
            return exc.errno
"""


def test_hidden_import_still_meets_seccomp(sandbox: RunnerFactory) -> None:
    """``__import__`` fetched by getattr on a built string still cannot open a socket."""
    r = sandbox(ATTACKER)
    assert r.call("hidden_import_socket", [], 10) == errno.EPERM


def test_subclasses_walk_to_os_system_still_cannot_exec(sandbox: RunnerFactory) -> None:
    """Reaching os.system through ``object.__subclasses__()`` runs no shell."""
    r = sandbox(ATTACKER)
    status = r.call("subclasses_walk", ["touch /tmp/wiseflow-pwned-subclasses"], 10)
    assert status != 0
    assert not os.path.exists("/tmp/wiseflow-pwned-subclasses")


def test_eval_and_frame_builtins_cannot_read_the_host(sandbox: RunnerFactory) -> None:
    """eval() of a built string and builtins from a frame still meet Landlock."""
    r = sandbox(ATTACKER)
    target = f"/proc/{os.getpid()}/environ"
    assert r.call("eval_open", [target], 10) == errno.EACCES
    assert r.call("builtins_via_frame", ["/etc/shadow"], 10) == errno.EACCES
