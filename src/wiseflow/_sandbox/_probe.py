"""Which confinement layers this machine supports (the ``wiseflow doctor --json`` document).

Every layer is tried for real in a short-lived child process, never in the host: a
namespace, a seccomp filter or a Landlock ruleset cannot be undone once applied. The
answer is cached for the life of the host process.

Set ``WISEFLOW_SANDBOX_DISABLE=landlock,seccomp`` (any of ``rlimits``, ``netns``,
``userns``, ``landlock``, ``seccomp``) to simulate a machine without those layers; the
probe reports them missing and workers skip them, so the degrade path can be exercised.

As an ordinary user the network namespace comes through a user namespace (see
``_confine``): ``netns`` is reported available when that works, and when it does not the
levels name the precise reason (user namespaces disabled by a sysctl, AppArmor, ...).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from ._confine import LAYERS, userns_diagnosis

__all__ = ["DISABLE_ENV", "disabled_layers", "missing_layers", "probe", "refusal"]

DISABLE_ENV = "WISEFLOW_SANDBOX_DISABLE"
_cache: dict[frozenset[str], dict[str, Any]] = {}


def disabled_layers() -> frozenset[str]:
    """Layers the operator (or a test) asked to treat as missing, from the environment."""
    raw = os.environ.get(DISABLE_ENV, "")
    return frozenset(x.strip() for x in raw.split(",") if x.strip())


def probe(*, refresh: bool = False) -> dict[str, Any]:
    """``{"layers": {...}, "levels": {...}}`` as SPEC §6 documents for ``doctor --json``."""
    disabled = disabled_layers()
    if not refresh and disabled in _cache:
        return _cache[disabled]
    raw = _run_child("--why")
    why: dict[str, str] = raw.pop("why", None) or {}
    layers: dict[str, Any] = {
        "seccomp": bool(raw.get("seccomp")) and "seccomp" not in disabled,
        "landlock_abi": 0 if "landlock" in disabled else int(raw.get("landlock_abi", 0)),
        "netns": bool(raw.get("netns"))
        and "netns" not in disabled
        and (os.geteuid() == 0 or "userns" not in disabled),
        "userns": bool(raw.get("userns")) and "userns" not in disabled,
        "rlimits": bool(raw.get("rlimits")) and "rlimits" not in disabled,
    }
    missing = missing_layers(layers)
    reason = "ok" if not missing else refusal(missing, _reasons(missing, disabled, why))
    doc = {"layers": layers, "levels": {"trusted": "ok", "sandboxed": reason, "strict": reason}}
    _cache[disabled] = doc
    return doc


def missing_layers(layers: dict[str, Any]) -> list[str]:
    """The names in :data:`LAYERS` that ``layers`` (a probe's ``"layers"``) lacks."""
    have = {
        "rlimits": bool(layers.get("rlimits")),
        "netns": bool(layers.get("netns")),
        "landlock": int(layers.get("landlock_abi") or 0) >= 1,
        "seccomp": bool(layers.get("seccomp")),
    }
    return [name for name in LAYERS if not have[name]]


def refusal(missing: list[str], reasons: dict[str, str] | None = None) -> str:
    """The human reason a sandboxed plugin is refused on this machine.

    ``reasons`` adds why a layer is missing, where that is known.
    """
    reasons = reasons or {}
    named = ", ".join(f"{n} ({reasons[n]})" if n in reasons else n for n in missing)
    return (
        f"missing confinement layer(s): {named}; sandboxed plugins are refused unless "
        "allow_weaker_sandbox = true"
    )


def _reasons(missing: list[str], disabled: frozenset[str], why: dict[str, str]) -> dict[str, str]:
    """Why each missing layer is missing, where known (simulated, or the kernel's answer)."""
    reasons = {name: "disabled (WISEFLOW_SANDBOX_DISABLE)" for name in missing if name in disabled}
    if "netns" in missing and "netns" not in reasons:
        if os.geteuid() != 0 and "userns" in disabled:
            reasons["netns"] = (
                "a non-root host needs a user namespace for it, and userns is disabled "
                "(WISEFLOW_SANDBOX_DISABLE)"
            )
        elif "netns" in why:
            reasons["netns"] = why["netns"]
        elif os.geteuid() != 0:
            reasons["netns"] = userns_diagnosis()
    return reasons


def _measure() -> dict[str, Any]:
    """What the probe child found: ``{"rlimits": bool, "netns": bool, ...}``."""
    raw = _run_child()
    raw.pop("why", None)
    return raw


def _run_child(*flags: str) -> dict[str, Any]:
    try:
        out = subprocess.run(
            [sys.executable, "-I", "-m", "wiseflow._sandbox._probe", *flags],
            capture_output=True,
            timeout=20,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            check=False,
        )
        result: dict[str, Any] = json.loads(out.stdout.decode() or "{}")
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    return result


def _in_grandchild(test: Any, why: dict[str, str] | None = None, name: str = "") -> bool:
    """Run ``test()`` in a forked grandchild; True when it returned True.

    When it raised ``OSError`` and ``why`` is given, ``why[name]`` is the error's text.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the grandchild
        os.close(r)
        try:
            ok = bool(test())
        except OSError as exc:
            os.write(w, str(exc.strerror or exc).encode()[:2000])
            ok = False
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok and text and why is not None:
        why[name] = text
    return ok


def _child() -> dict[str, Any]:  # pragma: no cover - runs in the probe child
    import resource
    import socket

    from . import _landlock, _seccomp
    from ._confine import enter_private_network
    from ._sys import syscall

    def rlimits() -> bool:
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
        return True

    def netns() -> bool:  # exactly what a worker does (via a user namespace if not root)
        enter_private_network()
        return True

    def userns() -> bool:
        uid = os.geteuid()
        syscall("unshare", 0x10000000)
        if uid != 0:  # usable only once this process is mapped in it
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1\n")
        return True

    def seccomp() -> bool:
        _seccomp.install_filter(allow_exec=True)
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except PermissionError:
            a, b = socket.socketpair()
            a.close()
            b.close()
            return True
        return False

    abi = _landlock.abi_version()

    def landlock() -> bool:
        _landlock.restrict(["/usr"], [], abi=abi)
        try:
            os.listdir("/")
        except PermissionError:
            return True
        return False

    why: dict[str, str] = {}
    found: dict[str, Any] = {
        "rlimits": _in_grandchild(rlimits),
        "netns": _in_grandchild(netns, why, "netns"),
        "userns": _in_grandchild(userns),
        "seccomp": _seccomp.supported() and _in_grandchild(seccomp),
        "landlock_abi": abi if abi and _in_grandchild(landlock) else 0,
    }
    if "--why" in sys.argv[1:]:
        found["why"] = why
    return found


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(json.dumps(_child()))
