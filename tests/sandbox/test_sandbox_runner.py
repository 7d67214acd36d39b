"""WorkerRunner: the Runner contract over a confined worker process."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sandbox_kit import RunnerFactory, process_alive, require_layers

from wiseflow import (
    Checkpoint,
    ConfigError,
    EntryNotFound,
    InterfaceError,
    PluginError,
    Record,
    SandboxUnavailable,
    SkipRecord,
    TransientError,
    WiseflowWarning,
)
from wiseflow._sandbox._probe import DISABLE_ENV
from wiseflow._sandbox._runner import CREDIT_WINDOW
from wiseflow._sandbox._worker import CHUNK_ITEMS

PROCESSOR = """
import msgspec

class P(ProcessorPlugin):
    class Config(msgspec.Struct):
        suffix: str = "!"
        limit: int = 10

    def initialize(self, ctx):
        self.ctx = ctx
        ctx.log.warning("initialized with %s", ctx.config.suffix)

    def process(self, batch):
        out = []
        for r in batch:
            if r.id == "skip":
                raise SkipRecord(r.id, "asked to")
            out.append(r.replace(title=r.title + self.ctx.config.suffix))
        return out

    def flaky(self):
        raise TransientError("rate limited", retry_after=1.5)

    def whoami(self):
        return {"pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd()}

    async def aprocess(self, batch):
        return [r.annotate("async", True) for r in batch]
"""

CONNECTOR = """
class P(ConnectorPlugin):
    def fetch(self, state):
        start = (state or {}).get("at", 0)
        progress = os.path.join(self.ctx.data_dir, "progress")
        for i in range(start, start + 5000):
            yield Record(id=str(i), source="c", text="x" * 200)
            if i % 100 == 0:
                with open(progress, "w") as f:
                    f.write(str(i - start))
            if i % 1000 == 999:
                yield Checkpoint(state={"at": i + 1})

    async def afetch(self, n):
        for i in range(n):
            yield Record(id=f"a{i}", source="c")
"""


def test_reports_applied_layers(sandbox: RunnerFactory) -> None:
    """The worker reports which layers it applied; here, every one the probe found."""
    require_layers("rlimits", "netns", "landlock", "seccomp")
    r = sandbox(PROCESSOR)
    assert r.confinement is not None
    assert {"rlimits", "netns", "no_new_privs", "landlock", "seccomp"} <= set(r.confinement.applied)
    assert r.confinement.missing == {}


def test_process_batch_config_and_logs(
    sandbox: RunnerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Config is validated in the worker; records go in and out; ctx.log reaches the host."""
    with caplog.at_level(logging.INFO, logger="wiseflow.plugin.victim"):
        r = sandbox(PROCESSOR, config={"suffix": "?"})
        out = r.call("process", [[Record(id="1", source="s", title="a")]], 10)
    assert [x.title for x in out] == ["a?"]
    assert any("initialized with ?" in rec.getMessage() for rec in caplog.records)
    assert r.config_schema() is not None
    assert "suffix" in str(r.config_schema())


def test_bad_config_is_wf105(sandbox: RunnerFactory) -> None:
    """check_config and initialize report WF105 for a config that does not fit."""
    r = sandbox(PROCESSOR, start=False)
    r.load()
    with pytest.raises(ConfigError) as info:
        r.check_config({"limit": "many"})
    assert info.value.code == "WF105"
    with pytest.raises(ConfigError):
        r.initialize({"nope": 1})


def test_skip_and_transient_errors_keep_their_details(sandbox: RunnerFactory) -> None:
    """SkipRecord carries its record id; TransientError its retry_after."""
    r = sandbox(PROCESSOR)
    with pytest.raises(SkipRecord) as skip:
        r.call("process", [[Record(id="skip", source="s")]], 10)
    assert skip.value.record_id == "skip"
    with pytest.raises(TransientError) as transient:
        r.call("flaky", [], 10)
    assert transient.value.retry_after == 1.5


def test_async_methods(sandbox: RunnerFactory) -> None:
    """Coroutine methods and async generators are awaited in the worker."""
    r = sandbox(PROCESSOR)
    assert r.call("aprocess", [[Record(id="1", source="s")]], 10)[0].annotations == {"async": True}
    c = sandbox(CONNECTOR, name="conn", kind="connector")
    assert [x.id for x in c.stream("afetch", [3], 10)] == ["a0", "a1", "a2"]


def test_worker_identity(sandbox: RunnerFactory, tmp_path: Path) -> None:
    """The worker is another process, in its data dir, unprivileged when the host is root."""
    r = sandbox(PROCESSOR)
    who = r.call("whoami", [], 10)
    assert who["pid"] == r.pid() != os.getpid()
    assert who["cwd"] == str(tmp_path / "data" / "victim")
    if os.geteuid() == 0:
        assert who["uid"] != 0


def test_stream_with_checkpoints_and_bounded_memory(sandbox: RunnerFactory) -> None:
    """fetch streams in order with checkpoints; the worker runs only a few chunks ahead."""
    r = sandbox(CONNECTOR, kind="connector")
    items = r.stream("fetch", [None], 10)
    first = next(items)
    assert first.id == "0"
    time.sleep(0.3)
    progress = int((Path(r.spec.data_dir) / "progress").read_text())
    assert progress <= (CREDIT_WINDOW + 2) * CHUNK_ITEMS
    rest = list(items)
    ids = [x.id for x in [first, *rest] if isinstance(x, Record)]
    assert ids == [str(i) for i in range(5000)]
    checkpoints = [x.state for x in rest if isinstance(x, Checkpoint)]
    assert checkpoints == [{"at": n} for n in (1000, 2000, 3000, 4000, 5000)]


def test_abandoned_stream_is_cancelled(sandbox: RunnerFactory) -> None:
    """Stopping early cancels the stream; the worker then serves the next call."""
    r = sandbox(CONNECTOR, kind="connector")
    items = r.stream("fetch", [{"at": 10}], 10)
    assert next(items).id == "10"
    items.close()
    assert [x.id for x in r.stream("afetch", [2], 10)] == ["a0", "a1"]


def test_entry_errors_are_reported_without_importing_in_the_host(
    sandbox: RunnerFactory,
) -> None:
    """A missing entry is WF102, a wrong class WF103; the host never imports the module."""
    r = sandbox(
        "class Q(ProcessorPlugin):\n    def process(self, b):\n        return b\n", start=False
    )
    with pytest.raises(EntryNotFound) as missing:
        r.load()
    assert missing.value.code == "WF102"
    bad = sandbox("class P:\n    pass\n", name="bad", start=False)
    with pytest.raises(InterfaceError) as info:
        bad.load()
    assert info.value.code == "WF103"
    assert not [m for m in sys.modules if m.startswith("_wiseflow_plugin_victim")]
    assert not [m for m in sys.modules if m.startswith("_wiseflow_plugin_bad")]


def test_close_is_idempotent_and_leaves_nothing(sandbox: RunnerFactory) -> None:
    """close() stops the worker (no zombie), removes its scratch dir, and may repeat."""
    r = sandbox(PROCESSOR)
    pid = r.pid()
    assert pid is not None
    scratch = r._scratch  # noqa: SLF001 - checking cleanup
    assert scratch is not None
    assert os.path.isdir(scratch)
    r.close()
    r.close()
    assert r.pid() is None
    assert not process_alive(pid)
    assert not os.path.exists(scratch)


def test_missing_layer_is_refused_with_wf305(
    sandbox: RunnerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing layer refuses the plugin (WF305), naming the layer."""
    monkeypatch.setenv(DISABLE_ENV, "landlock")
    r = sandbox(PROCESSOR, start=False)
    with pytest.raises(SandboxUnavailable) as info:
        r.load()
    assert info.value.code == "WF305"
    assert "landlock" in info.value.message
    assert "allow_weaker_sandbox" in (info.value.hint or "")
    assert r.pid() is None


def test_weaker_sandbox_warns_naming_each_layer(
    sandbox: RunnerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With allow_weaker_sandbox the plugin runs, and a warning names each missing layer."""
    monkeypatch.setenv(DISABLE_ENV, "landlock,seccomp")
    r = sandbox(PROCESSOR, start=False, allow_weaker_sandbox=True)
    with pytest.warns(WiseflowWarning) as caught:
        r.load()
    messages = " ".join(str(w.message) for w in caught)
    assert "landlock" in messages
    assert "seccomp" in messages
    r.initialize({})
    assert r.call("process", [[Record(id="1", source="s")]], 10)[0].title == "!"
    assert r.confinement is not None
    assert "landlock" not in r.confinement.applied


HOST_SCRIPT = """
import sys, time
sys.path.insert(0, {kit!r})
from pathlib import Path
from sandbox_kit import make_runner_factory
factory, _ = make_runner_factory(Path({tmp!r}))
r = factory("class P(ProcessorPlugin):\\n    def process(self, b):\\n        return b\\n")
print(r.pid(), flush=True)
time.sleep(60)
"""


def test_worker_dies_with_its_host(tmp_path: Path) -> None:
    """When the host process is killed, its workers die too (parent-death signal)."""
    kit = str(Path(__file__).parent)
    script = textwrap.dedent(HOST_SCRIPT).format(kit=kit, tmp=str(tmp_path))
    host = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert host.stdout is not None
        line = host.stdout.readline()
        worker = int(line)
        assert process_alive(worker)
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
        if host.stdout:
            host.stdout.close()
        if host.stderr:
            host.stderr.close()
    deadline = time.monotonic() + 30  # generous: only a failure waits it out
    while process_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not process_alive(worker)


PROBE_PLUGIN = """
import socket

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def report(self, host):
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock = "open"
        except OSError as exc:
            sock = exc.errno
        try:
            open(f"/proc/{host}/environ", "rb").read()
            env = "read"
        except OSError as exc:
            env = exc.errno
        return {"ppid": os.getppid(), "sock": sock, "env": env, "argv": sys.argv[1:]}
"""


@pytest.mark.parametrize("use_zygote", [True, False], ids=["zygote", "cold"])
def test_cold_and_zygote_workers_are_confined_alike(
    sandbox: RunnerFactory, use_zygote: bool
) -> None:
    """Both start paths give a child of the host, confined the same way."""
    require_layers("rlimits", "netns", "landlock", "seccomp")
    r = sandbox(PROBE_PLUGIN, use_zygote=use_zygote)
    out = r.call("report", [os.getpid()], 10)
    assert out["ppid"] == os.getpid()
    assert out["sock"] == 1  # EPERM
    assert out["env"] == 13  # EACCES
    assert len(out["argv"]) == 3  # the fd it writes, the host pid, the fd it reads
    assert r.confinement is not None
    assert r.confinement.missing == {}


def test_zygote_holds_nothing_of_the_host(sandbox: RunnerFactory) -> None:
    """The zygote has a clean environment and no descriptor but its control socket."""
    from wiseflow._sandbox._process import spawn
    from wiseflow._sandbox._zygote import shared_zygote

    os.environ["WISEFLOW_TEST_CANARY"] = "canary"
    try:
        sandbox(PROBE_PLUGIN)
        zygote = shared_zygote(spawn)
        assert zygote is not None
        with open(f"/proc/{zygote.pid}/environ", "rb") as f:
            assert b"WISEFLOW_TEST_CANARY" not in f.read()
        fds = sorted(int(fd) for fd in os.listdir(f"/proc/{zygote.pid}/fd"))
        assert len(fds) == 4  # stdin, stdout, stderr (all /dev/null) and the control socket
    finally:
        del os.environ["WISEFLOW_TEST_CANARY"]


def test_unsendable_result_is_a_plugin_error_not_a_crash(sandbox: RunnerFactory) -> None:
    """A method returning an object the wire cannot carry fails that call (WF400) only."""
    r = sandbox(PROCESSOR + "\n    def weird(self):\n        return object()\n")
    with pytest.raises(PluginError) as info:
        r.call("weird", [], 10)
    assert info.value.code == "WF400"
    assert "cannot cross" in info.value.message
    assert r.call("process", [[]], 10) == []


LIMITS = """
import resource

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def limits(self):
        names = ("RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE", "RLIMIT_CPU")
        return {n: resource.getrlimit(getattr(resource, n))[0] for n in names}
"""


def test_limits_follow_resources_and_strict_tightens_them(sandbox: RunnerFactory) -> None:
    """rlimits come from the manifest's resources; level strict caps them further."""
    extra = "[plugin.resources]\nmemory_mb = 400\nmax_open_files = 100\ncpu_seconds = 30\n"
    r = sandbox(LIMITS, manifest_extra=extra)
    got = r.call("limits", [], 10)
    assert got["RLIMIT_AS"] == 400 * 2**20
    assert got["RLIMIT_NOFILE"] == 100
    assert got["RLIMIT_CPU"] == 30
    assert got["RLIMIT_CORE"] == 0
    s = sandbox(LIMITS, name="strict-one", manifest_extra=extra, level="strict")
    got = s.call("limits", [], 10)
    assert got["RLIMIT_AS"] == 256 * 2**20
    assert got["RLIMIT_NOFILE"] == 64
    assert got["RLIMIT_NPROC"] == 16


def test_a_call_in_the_middle_of_a_stream(sandbox: RunnerFactory) -> None:
    """Calling the plugin while one of its streams is open loses no item of the stream."""
    r = sandbox(CONNECTOR, kind="connector")
    items = r.stream("fetch", [None], 10)
    head = [next(items) for _ in range(3)]
    assert r.call("health", [], 10) == {"ok": True}
    rest = list(items)
    ids = [x.id for x in [*head, *rest] if isinstance(x, Record)]
    assert ids == [str(i) for i in range(5000)]


THREADED = """
from concurrent.futures import ThreadPoolExecutor

class P(ConnectorPlugin):
    def fetch(self, state):
        with ThreadPoolExecutor(4) as pool:
            for i, value in enumerate(pool.map(lambda n: self.ctx.secret("TOKEN"), range(300))):
                yield Record(id=str(i), source="t", text=value)

    def fan_out(self, n):
        with ThreadPoolExecutor(4) as pool:
            return sorted(set(pool.map(lambda i: self.ctx.secret("TOKEN") + str(i % 3), range(n))))
"""


def test_capabilities_from_plugin_threads(sandbox: RunnerFactory) -> None:
    """Plugin threads using ctx concurrently (in a call and in a stream) each get their reply."""
    from wiseflow._policy._grants import Effective

    r = sandbox(
        THREADED,
        kind="connector",
        permissions=Effective(env=("TOKEN",)),
        environ={"TOKEN": "t"},
    )
    assert r.call("fan_out", [200], 20) == ["t0", "t1", "t2"]
    items = list(r.stream("fetch", [None], 20))
    assert [x.id for x in items] == [str(i) for i in range(300)]
    assert {x.text for x in items} == {"t"}


def test_worker_is_named_after_its_plugin(sandbox: RunnerFactory) -> None:
    """ps and top show which plugin a worker serves."""
    r = sandbox(PROCESSOR)
    with open(f"/proc/{r.pid()}/comm") as f:
        assert f.read().strip() == "wf:victim"


def test_huge_timeout_does_not_overflow_the_hosts_wait(sandbox: RunnerFactory) -> None:
    """A call's timeout of 1e9 s is a long deadline, not an internal error from poll()."""
    r = sandbox(PROCESSOR)
    assert r.call("process", [[Record(id="a", source="s")]], 1e9)[0].id == "a"


def test_chunks_are_the_workers_batches_in_order(sandbox: RunnerFactory) -> None:
    """chunks() hands on each chunk the worker sent as one list (at most CHUNK_ITEMS items,
    a checkpoint ending one), in order, nothing lost or repeated."""
    r = sandbox(CONNECTOR, kind="connector")
    chunks = list(r.chunks("fetch", [None], 10))
    assert all(0 < len(c) <= CHUNK_ITEMS for c in chunks)
    with_checkpoint = [c for c in chunks if any(isinstance(x, Checkpoint) for x in c)]
    assert all(isinstance(c[-1], Checkpoint) for c in with_checkpoint)
    items = [x for c in chunks for x in c]
    assert [x.id for x in items if isinstance(x, Record)] == [str(i) for i in range(5000)]
    assert [x.state for x in items if isinstance(x, Checkpoint)] == [
        {"at": n} for n in (1000, 2000, 3000, 4000, 5000)
    ]
    assert len(chunks) < 100  # batches, not single items
