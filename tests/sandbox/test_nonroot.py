"""Sandboxed plugins on a host that is not root: the user-namespace path, run for real.

The test process is root; each test starts a host script as uid 65534 (nobody) with a
throwaway venv over Debian's ``/usr/bin/python3.11`` (the project's interpreter lives
under ``/root``, unreadable to nobody). The checkout itself may be unreadable to nobody
too (a clone in a 0700 folder), so the harness copies what a nobody host needs into that
venv's site-packages, which is world-readable: this checkout's ``wiseflow`` package and
its ``dist-info`` (entry points), the installed files of every distribution that wiseflow
and the test kit require (msgspec, psutil, httpx, pytest, ...), and ``sandbox_kit.py``.
The host and the workers it starts (``sys.executable -I -m wiseflow._sandbox._worker``)
run that copy of this code; a harness test checks the copy is byte-identical.

The helpers here (:func:`nobody_host`, :class:`NobodyHost`) are shared with
``tests/hostile/test_nonroot_attacks.py``.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sandbox_kit import process_alive

import wiseflow
from wiseflow._sandbox._confine import userns_diagnosis

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3.11"
KIT_DIR = Path(__file__).resolve().parent  # sandbox_kit.py, copied into the harness venv
_MARK = "@@RESULT@@"

_PREAMBLE = """
import errno, json, os, signal, socket, sys, tempfile, time, warnings
from pathlib import Path
from sandbox_kit import WITNESS, make_runner_factory
from wiseflow import Record, WiseflowError
from wiseflow._policy._grants import Effective

HOST_ROOT = Path(sys.argv[1])
ARGS = json.loads(sys.argv[2])
factory, made = make_runner_factory(Path(tempfile.mkdtemp(dir=HOST_ROOT)))
result = None

def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except WiseflowError as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}

def witness():
    r = factory(WITNESS, name="witness")
    out = r.call("process", [[Record(id="w", source="t")]], 10)
    return out[0].annotations == {"witness": True}

def worker_facts(r):
    pid = r.pid()
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return {
        "pid": pid,
        "uids": status["Uid"].split(),
        "ppid": int(status["PPid"]),
        "cap_eff": status["CapEff"].strip(),
        "uid_map": open(f"/proc/{pid}/uid_map").read().split(),
        "gid_map": open(f"/proc/{pid}/gid_map").read().split(),
        "net": os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"),
        "user": os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user"),
        "zygote": r._proc._popen is None,
        "confinement": {"applied": r.confinement.applied, "missing": r.confinement.missing},
    }

# ---- test body ----
"""

_POSTAMBLE = """
# ---- end of test body ----
for _r in made:
    _r.close()
print()
print(@MARK@ + json.dumps(result))
"""


class NobodyHost:
    """Runs host scripts as uid 65534 with the harness venv's interpreter."""

    def __init__(self, python: str, root: Path) -> None:
        self.python = python
        self.root = root  # owned by nobody: data dirs, scratch dirs, plugin folders
        self._n = 0

    def run(self, body: str, args: Any = None, *, env: dict[str, str] | None = None) -> Any:
        """Run ``body`` (which sets ``result``) as a nobody host; returns ``result``."""
        self._n += 1
        script = self.root / f"host_{self._n}.py"
        preamble = _PREAMBLE
        script.write_text(
            preamble + textwrap.dedent(body) + _POSTAMBLE.replace("@MARK@", repr(_MARK))
        )
        os.chmod(script, 0o644)
        out = subprocess.run(
            [self.python, "-I", str(script), str(self.root), json.dumps(args)],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            env={
                "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "HOME": str(self.root),
                "TMPDIR": str(self.root),
                **(env or {}),
            },
            cwd=self.root,
            capture_output=True,
            timeout=60,
            check=False,
        )
        text = out.stdout.decode(errors="replace")
        assert out.returncode == 0, f"host as nobody failed:\n{text}\n{out.stderr.decode()}"
        line = next(ln for ln in reversed(text.splitlines()) if ln.startswith(_MARK))
        return json.loads(line[len(_MARK) :])

    def command(self, *argv: str, env: dict[str, str] | None = None) -> str:
        """Run ``python -I argv...`` as nobody in the host root; its stdout."""
        out = subprocess.run(
            [self.python, "-I", *argv],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.root), **(env or {})},
            cwd=self.root,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr.decode()
        return out.stdout.decode()


def _as_nobody(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        argv,
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd="/",
        capture_output=True,
        timeout=30,
        check=False,
    )


# What a nobody host imports: wiseflow (runtime requirements, no extras) and the test kit.
_HOST_DISTS = ("wiseflow", "pytest")


def _closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The installed distributions ``names`` need, their requirements included (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = dist = metadata.distribution(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(found.values())


def _install_copy(site: Path) -> None:
    """Copy this checkout's wiseflow and the files of its requirements into ``site``.

    A copy rather than a ``.pth`` to the checkout: nobody may not be able to traverse the
    folder the checkout lives in, and the host must not depend on where it was cloned.
    """
    for dist in _closure(_HOST_DISTS):
        for f in dist.files or []:
            if f.parts[0] == ".." or f.name.startswith("__editable__"):
                continue  # scripts outside site-packages; the editable install's hooks
            src = Path(str(dist.locate_file(f)))
            if src.is_file():
                (site / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, site / f)
    package = Path(wiseflow.__file__).resolve().parent
    shutil.copytree(package, site / "wiseflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(KIT_DIR / "sandbox_kit.py", site / "sandbox_kit.py")


def package_digest(package: Path) -> str:
    """A digest of every ``.py`` file under ``package``, by relative path (harness check)."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@functools.cache
def _harness() -> tuple[str | None, str]:
    """(the harness venv's python, "") or (None, why non-root tests cannot run here)."""
    if os.geteuid() != 0:
        return None, "the tests are not run as root, so they cannot start a host as uid 65534"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return None, f"{SYSTEM_PYTHON} is missing: no interpreter that uid 65534 can read"
    base = tempfile.mkdtemp(prefix="wf-nonroot-venv-")
    atexit.register(shutil.rmtree, base, True)
    venv = os.path.join(base, "venv")
    made = subprocess.run(
        [SYSTEM_PYTHON, "-m", "venv", "--without-pip", venv], capture_output=True, check=False
    )
    if made.returncode != 0:
        return None, f"{SYSTEM_PYTHON} cannot make a venv: {made.stderr.decode()[-300:]}"
    python = os.path.join(venv, "bin", "python")
    site = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    _install_copy(Path(site.strip()))
    # nobody cannot write __pycache__ there: compile now, or every worker compiles again
    subprocess.run([python, "-I", "-m", "compileall", "-q", site.strip()], check=True)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444 | (0o111 if name in dirnames else 0))
    os.chmod(base, 0o755)
    # user namespaces for uid 65534, tried directly (not through the code under test)
    code = (
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
        "print(libc.unshare(0x10000000), ctypes.get_errno())"
    )
    tried = _as_nobody([python, "-I", "-c", code])
    if tried.returncode != 0:
        return None, f"uid 65534 cannot run {python}: {tried.stderr.decode()[-300:]}"
    rc, err = (int(x) for x in tried.stdout.split())
    if rc != 0:
        reason = userns_diagnosis(OSError(err, os.strerror(err)))
        return None, f"user namespaces are unavailable to uid 65534 here: {reason}"
    return python, ""


def nobody_host() -> Iterator[NobodyHost]:
    """A :class:`NobodyHost` over a fresh directory owned by nobody (the fixture body)."""
    python, reason = _harness()
    if python is None:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="wf-nonroot-"))
    os.chown(root, NOBODY, NOBODY)
    try:
        yield NobodyHost(python, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def nobody() -> Iterator[NobodyHost]:
    """A host running as uid 65534."""
    yield from nobody_host()


# -- the harness itself -----------------------------------------------------------------------


def test_isolated_worker_interpreter_runs_this_checkouts_code(nobody: NobodyHost) -> None:
    """``-I`` ignores PYTHONPATH; nobody's python imports a byte-identical copy of this wiseflow."""
    code = (
        "import json, sys, wiseflow, msgspec, psutil, sandbox_kit; "
        "print(json.dumps([sys.flags.isolated, wiseflow.__file__, '/nowhere' in sys.path]))"
    )
    out = nobody.command("-c", code, env={"PYTHONPATH": "/nowhere"})
    isolated, where, from_env = json.loads(out)
    assert isolated == 1
    assert from_env is False
    assert Path(where).is_relative_to(Path(nobody.python).parent.parent)  # the harness venv
    here = Path(wiseflow.__file__).resolve().parent
    assert package_digest(Path(where).parent) == package_digest(here)


# -- probe and doctor -------------------------------------------------------------------------


def test_doctor_as_nobody_reports_every_layer_and_ok_levels(nobody: NobodyHost) -> None:
    """``wiseflow doctor --json`` as nobody: netns via a user namespace, every level ok."""
    doc = json.loads(nobody.command("-m", "wiseflow", "doctor", "--json"))
    layers = doc["layers"]
    assert layers["netns"] is True
    assert layers["userns"] is True
    assert layers["seccomp"] is True and layers["rlimits"] is True
    assert layers["landlock_abi"] >= 1
    assert doc["levels"] == {"trusted": "ok", "sandboxed": "ok", "strict": "ok"}
    assert doc["allow_weaker_sandbox"] is False


def test_disabled_userns_means_no_netns_for_nobody_with_the_reason(nobody: NobodyHost) -> None:
    """As nobody, simulating no user namespaces makes netns missing, and doctor says why."""
    env = {"WISEFLOW_SANDBOX_DISABLE": "userns"}
    doc = json.loads(nobody.command("-m", "wiseflow", "doctor", "--json", env=env))
    assert doc["layers"]["netns"] is False
    assert doc["layers"]["userns"] is False
    verdict = doc["levels"]["sandboxed"]
    assert "netns" in verdict and "user namespace" in verdict
    assert "allow_weaker_sandbox" in verdict
    assert doc["levels"]["trusted"] == "ok"


def test_userns_diagnosis_names_the_kernel_switch(tmp_path: Path) -> None:
    """The reason names the sysctl or AppArmor switch that forbids user namespaces."""
    (tmp_path / "user").mkdir()
    (tmp_path / "kernel").mkdir()
    off = tmp_path / "user" / "max_user_namespaces"
    off.write_text("0\n")
    why = userns_diagnosis(sysctl=str(tmp_path))
    assert why == f"user namespaces are disabled ({tmp_path}/user/max_user_namespaces = 0)"
    off.write_text("63000\n")
    (tmp_path / "kernel" / "apparmor_restrict_unprivileged_userns").write_text("1\n")
    why = userns_diagnosis(OSError(1, "Operation not permitted"), sysctl=str(tmp_path))
    assert why.startswith("AppArmor restricts unprivileged user namespaces")
    (tmp_path / "kernel" / "apparmor_restrict_unprivileged_userns").write_text("0\n")
    why = userns_diagnosis(OSError(28, os.strerror(28)), sysctl=str(tmp_path))
    assert "unshare(CLONE_NEWUSER | CLONE_NEWNET) failed (ENOSPC" in why
    why = userns_diagnosis(OSError(1, "x"), step="writing its uid/gid map", sysctl=str(tmp_path))
    assert "succeeded but writing its uid/gid map failed (EPERM" in why


# -- workers ----------------------------------------------------------------------------------

_END_TO_END = """
WRITER = '''
class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.ctx = ctx
    def process(self, batch):
        path = self.ctx.data_dir / "seen.txt"
        path.write_text(str(len(batch)))
        return [r.annotate("witness", path.read_text() == "1") for r in batch]
'''
out = {}
for use_zygote in (False, True):
    r = factory(WRITER, name=f"w{int(use_zygote)}", use_zygote=use_zygote)
    facts = worker_facts(r)
    facts["records"] = [
        rec.annotations for rec in r.call("process", [[Record(id="a", source="t")]], 10)
    ]
    out["zygote" if use_zygote else "cold"] = facts
result = {"host_pid": os.getpid(), "host_uid": os.getuid(), "workers": out}
"""


def test_plugin_runs_end_to_end_as_nobody_cold_and_from_the_zygote(nobody: NobodyHost) -> None:
    """load -> initialize -> process (writing its data dir) works as nobody, cold and warm."""
    got = nobody.run(_END_TO_END)
    assert got["host_uid"] == NOBODY
    for how, facts in got["workers"].items():
        assert facts["zygote"] is (how == "zygote")
        assert facts["records"] == [{"witness": True}]
        conf = facts["confinement"]
        assert conf["missing"] == {}
        for layer in ("userns", "netns", "rlimits", "no_new_privs", "landlock", "seccomp"):
            assert layer in conf["applied"], (how, layer)
        assert "uid" not in conf["applied"]  # already unprivileged: no identity change
        assert facts["uids"] == [str(NOBODY)] * 4  # the host's uid, seen from the host
        # mapped to itself (not left as the overflow uid), so it can create files
        assert facts["uid_map"] == [str(NOBODY), str(NOBODY), "1"]
        assert facts["gid_map"] == [str(NOBODY), str(NOBODY), "1"]
        assert facts["ppid"] == got["host_pid"]  # a child of the host, even via the zygote
        assert facts["net"] is True and facts["user"] is True
        assert int(facts["cap_eff"], 16) == 0  # the namespace's capabilities are dropped


_NPROC = """
sleepers = [os.spawnv(os.P_NOWAIT, "/bin/sleep", ["sleep", "30"]) for _ in range(24)]
try:
    r = factory('''
import threading
class P(ProcessorPlugin):
    def process(self, batch):
        return batch
    def threads(self):
        stop = threading.Event()
        made = []
        try:
            while len(made) < 200:
                t = threading.Thread(target=stop.wait)
                t.start()
                made.append(t)
        except RuntimeError:
            pass
        stop.set()
        for t in made:
            t.join()
        return len(made)
''', max_procs=16)
    result = r.call("threads", [], 20)
finally:
    for pid in sleepers:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
"""


def test_process_limit_counts_the_workers_own_tasks_not_the_users(nobody: NobodyHost) -> None:
    """RLIMIT_NPROC binds per worker (its own user namespace), whatever else nobody runs."""
    started = nobody.run(_NPROC)
    # 24 other processes of the same user are running: a per-user count would leave none
    assert 8 <= started < 16


_NO_USERNS = """
import ctypes
from wiseflow._sandbox._probe import probe

libc = ctypes.CDLL(None, use_errno=True)
uid, gid = os.getuid(), os.getgid()
depth = 0
while libc.unshare(0x10000000) == 0:  # nest user namespaces until the kernel says no
    depth += 1
    for name, text in (("setgroups", "deny"), ("gid_map", f"{gid} {gid} 1"),
                       ("uid_map", f"{uid} {uid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
refused_errno = ctypes.get_errno()
doc = probe(refresh=True)
strict = attempt(lambda: factory(WITNESS, name="refused"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    r = factory(WITNESS, name="weaker", allow_weaker_sandbox=True)
    records = r.call("process", [[Record(id="a", source="t")]], 10)
result = {
    "depth": depth,
    "errno": refused_errno,
    "doc": doc,
    "strict": strict,
    "warnings": [str(w.message) for w in caught],
    "applied": r.confinement.applied,
    "records": [rec.annotations for rec in records],
}
"""


def test_without_user_namespaces_nobody_gets_wf305_with_the_reason(nobody: NobodyHost) -> None:
    """A host where user namespaces are refused: doctor and WF305 give the kernel's reason."""
    got = nobody.run(_NO_USERNS)
    assert got["depth"] >= 1  # the host really sits where no further namespace is allowed
    doc = got["doc"]
    assert doc["layers"]["netns"] is False
    verdict = doc["levels"]["sandboxed"]
    assert "netns" in verdict and "unshare(CLONE_NEWUSER | CLONE_NEWNET) failed" in verdict
    assert got["strict"]["ok"] is False
    assert got["strict"]["code"] == "WF305"
    assert "netns (unshare(CLONE_NEWUSER | CLONE_NEWNET) failed" in got["strict"]["message"]
    assert "the limit on user namespaces is reached" in got["strict"]["message"]
    # allow_weaker_sandbox: it runs, every other layer applied, and the warning names netns
    assert got["records"] == [{"witness": True}]
    assert "netns" not in got["applied"]
    for layer in ("rlimits", "landlock", "seccomp"):
        assert layer in got["applied"]
    assert any("without the netns confinement layer" in w for w in got["warnings"])


_HOST_DIES = """
cold = factory(WITNESS, name="cold", use_zygote=False)
warm = factory(WITNESS, name="warm")
from wiseflow._sandbox._zygote import shared_zygote
pids = [cold.pid(), warm.pid(), shared_zygote(None).pid]
print()
print(@MARK@ + json.dumps(pids), flush=True)
os._exit(0)  # the host dies without closing anything
""".replace("@MARK@", repr(_MARK))


def test_workers_of_a_nobody_host_die_with_it(nobody: NobodyHost) -> None:
    """The parent-death signal survives the user namespace: no worker outlives its host."""
    pids = nobody.run(_HOST_DIES)
    assert len(pids) == 3
    deadline = time.monotonic() + 30  # generous: only a failure waits it out
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(process_alive(pid) for pid in pids)


_MAP_FAILS = """
from wiseflow._sandbox import _confine

def refuse(path, text):
    raise PermissionError(errno.EPERM, "Operation not permitted")

_confine._write_proc = refuse
r, w = os.pipe()
pid = os.fork()
if pid == 0:  # a child, so the test host stays as it was
    try:
        _confine.enter_private_network()
        out = {"raised": None}
    except OSError as exc:
        out = {"raised": exc.strerror, "errno": exc.errno}
    with open("/proc/self/status") as f:
        out["cap_eff"] = next(ln for ln in f if ln.startswith("CapEff")).split()[1]
    out["user"] = os.readlink("/proc/self/ns/user")
    os.write(w, json.dumps(out).encode())
    os._exit(0)
os.close(w)
result = json.loads(os.read(r, 65536))
os.waitpid(pid, 0)
result["host_user"] = os.readlink("/proc/self/ns/user")
"""


def test_unwritable_uid_map_is_a_precise_failure_with_no_capabilities_left(
    nobody: NobodyHost,
) -> None:
    """If the maps cannot be written, the worker says which step failed and keeps no caps."""
    got = nobody.run(_MAP_FAILS)
    assert got["errno"] == 1
    assert "succeeded but writing its uid/gid map failed (EPERM" in got["raised"]
    assert got["user"] != got["host_user"]  # it did enter the new namespace...
    assert int(got["cap_eff"], 16) == 0  # ...and kept none of the capabilities it gave
