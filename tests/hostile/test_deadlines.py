"""Attack family: holding the host past a call's deadline — floods, drips, silence, half-closes.

Each attack runs a real plugin in a real worker. The positive controls drive the same worker
with main's host discipline as it was before deadlines held everywhere (:func:`legacy_call`):
replies written with the blocking ``Channel.send``, and the deadline checked only when no
frame is waiting. A socket timeout and a wall-clock bound (``SAFETY``) end the control, so
it cannot hang; the attack "worked" when the control outlived the call's deadline.
"""

from __future__ import annotations

import select
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sandbox_kit import RunnerFactory, process_alive, write_plugin

import wiseflow
from wiseflow import PluginTimeout, Record, WorkerCrashed
from wiseflow._pipeline import parse_pipeline
from wiseflow._policy._operator import OperatorConfig, PluginPolicy, Retry
from wiseflow._sandbox._link import MAX_BACKLOG
from wiseflow._sandbox._protocol import Call, CapReply, CapRequest, Chunk, Fail, Result
from wiseflow._sandbox._runner import WorkerRunner
from wiseflow._store import Store
from wiseflow.testing import make_manager

pytestmark = pytest.mark.usefixtures("host_survives")

#: The call's timeout in every attack, and the slack allowed on top of it (a busy machine).
TIMEOUT = 2.0
SLACK = 5.0
#: How long a positive control may run before the test itself gives up on it.
SAFETY = TIMEOUT + 4.0

ATTACKER = """
import socket
import struct
import msgspec

FD = int(sys.argv[1])

def frame(obj):
    body = msgspec.msgpack.encode(obj)
    return struct.pack(">I", len(body)) + body

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def ask_forever(self, op, size):
        # valid capability requests, as fast as the channel takes them; no reply is read
        args = ["X" * size] if op == "secret" else ["other", "process", [[]]]
        burst = frame(["cap", 1, op, args]) * 16
        while True:
            os.write(FD, burst)

    def flood_in_background(self):
        # a thread floods requests after this call has returned; nobody reads the replies
        import threading
        burst = frame(["cap", 1, "secret", ["X" * 60000]]) * 16

        def flood():
            time.sleep(0.2)
            while True:
                os.write(FD, burst)

        threading.Thread(target=flood, daemon=True).start()
        return "started"

    def pause(self, seconds):
        time.sleep(seconds)
        return "done"

    def chatter(self, seconds):
        # keep the channel full of small log frames, then answer long after the deadline
        burst = frame(["log", 20, "chatter"]) * 4000
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            os.write(FD, burst)
        return "accepted"

    def drip(self, seconds):
        # a frame announcing 100 bytes, then one byte every half second
        os.write(FD, struct.pack(">I", 100))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            os.write(FD, b"\\x00")
            time.sleep(0.5)
        return "late"

    def half_close(self, seconds):
        # stop writing to the host (EOF on its side) but keep running
        os.close(FD)  # its end of the pipe to the host
        time.sleep(seconds)
        return "still here"

    def shout(self, seconds):
        # flood stdout with lines while the call runs
        lines = ("x" * 100 + "\\n") * 100
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sys.stdout.write(lines)
            sys.stdout.flush()
        return "accepted"
"""

STREAMER = """
import struct
import msgspec

FD = int(sys.argv[1])

def frame(obj):
    body = msgspec.msgpack.encode(obj)
    return struct.pack(">I", len(body)) + body

class P(ConnectorPlugin):
    def fetch(self, state):
        mode = state["mode"]
        yield Record(id="first", source="s")
        yield Checkpoint(state={})  # sends the chunk now
        if mode == "steady":  # keeps producing, slower than nothing but faster than timeout
            for i in range(state["n"]):
                time.sleep(state["every"])
                yield Record(id=str(i), source="s")
        elif mode == "logs":  # logs and capability requests, never another item
            self.ctx.log.info("working")
            while True:
                self.ctx.log.info("still working")
                try:
                    self.ctx.secret("NOT_GRANTED")
                except PermissionDenied:
                    pass
                time.sleep(0.01)
        elif mode == "empty":  # chunks without items, for this stream's id
            while True:
                os.write(FD, frame(["chunk", state["rid"], None, []]))
                time.sleep(0.05)
"""


def legacy_call(
    r: WorkerRunner, method: str, args: list[Any], *, spin: float = 0.5
) -> tuple[str, float]:
    """Call ``method`` on ``r``'s worker the way main's host loop did; (how it ended, seconds).

    How it ended: ``result`` (accepted), ``timeout`` (the deadline was honoured), ``died``
    (EOF), ``stuck`` (the control's own safety bound ended it: a blocked write or read).
    ``spin`` is how long the loop polls before it looks at the deadline, as main's
    ``SPIN`` did; it is long here so that a busy machine cannot hide the flaw.
    """
    chan = r._chan
    assert chan is not None
    rid = r._new_id()
    start = time.monotonic()
    deadline = start + TIMEOUT
    chan.timeout = SAFETY  # the only bound on a blocking send, as main's settimeout
    try:
        chan.send(Call(id=rid, method=method, args=args))
        while time.monotonic() - start < SAFETY:
            if chan.has_frame():  # main: a waiting frame is served before any deadline check
                msg = chan.pop()
                if isinstance(msg, CapRequest):
                    chan.send(CapReply(id=msg.id, error={"code": "WF301", "message": "no"}))
                elif isinstance(msg, Result | Fail) and msg.id == rid:
                    return "result", time.monotonic() - start
                continue
            got = chan.try_recv(spin)
            if got is False:
                return "died", time.monotonic() - start
            if got:
                continue
            if time.monotonic() >= deadline:
                return "timeout", time.monotonic() - start
            select.select([chan.rfd], [], [], 0.1)
    except TimeoutError:
        pass
    return "stuck", time.monotonic() - start


def _attacker(sandbox: RunnerFactory, code: str = ATTACKER, **kw: Any) -> WorkerRunner:
    return sandbox(code, manifest_extra=f"[plugin.resources]\ntimeout_s = {TIMEOUT}\n", **kw)


def _timed_call(r: WorkerRunner, method: str, args: list[Any]) -> tuple[BaseException, float]:
    start = time.monotonic()
    with pytest.raises((PluginTimeout, WorkerCrashed)) as info:
        r.call(method, args, None)
    return info.value, time.monotonic() - start


@pytest.mark.parametrize(("op", "size"), [("secret", 60_000), ("call_plugin", 0)])
def test_control_flooding_requests_blocked_mains_host_past_the_deadline(
    sandbox: RunnerFactory, op: str, size: int
) -> None:
    """Control: against main's blocking reply writer, a request flood holds the host past
    its deadline (here until the control's own socket timeout)."""
    r = _attacker(sandbox)
    outcome, seconds = legacy_call(r, "ask_forever", [op, size])
    r._stop()
    assert outcome == "stuck"
    assert seconds >= TIMEOUT + 1


@pytest.mark.parametrize(("op", "size"), [("secret", 60_000), ("call_plugin", 0)])
def test_worker_that_stops_reading_replies_is_ended_at_the_deadline(
    sandbox: RunnerFactory, op: str, size: int
) -> None:
    """A plugin flooding denied capability requests without reading the replies is ended
    with WF401 by its deadline, naming the unread replies; the host idles while it waits.

    Idling is measured where it is claimed: from the moment the host stops reading (more
    than MAX_BACKLOG bytes of replies unread) to the end of the call, on the calling
    thread's own CPU clock. Serving the flood before that is work (its CPU time depends on
    how loaded the machine is), not spinning.
    """
    timeout = 3.0  # room for an idle stretch after the flood is served, on a busy machine
    r = sandbox(ATTACKER, manifest_extra=f"[plugin.resources]\ntimeout_s = {timeout}\n")
    pid = r.pid()
    link = r._link
    assert pid is not None and link is not None
    got: dict[str, Any] = {}
    ready = threading.Event()

    def call() -> None:
        got["clock"] = time.pthread_getcpuclockid(threading.get_ident())
        ready.set()
        start = time.monotonic()
        try:
            r.call("ask_forever", [op, size], None)
        except BaseException as exc:
            got["err"] = exc
        got["seconds"] = time.monotonic() - start
        got["end_cpu"], got["end"] = time.thread_time(), time.monotonic()

    caller = threading.Thread(target=call)
    caller.start()
    assert ready.wait(30)
    full_at = full_cpu = None
    give_up = time.monotonic() + timeout + SLACK
    while caller.is_alive() and time.monotonic() < give_up:  # a condition, looked at often
        if link.chan.backlog > MAX_BACKLOG:
            full_cpu, full_at = time.clock_gettime(got["clock"]), time.monotonic()
            break
        time.sleep(0.005)
    caller.join(timeout + SLACK)
    assert not caller.is_alive()
    err, seconds = got["err"], got["seconds"]
    assert isinstance(err, PluginTimeout) and err.code == "WF401"
    assert "left unread" in err.message
    assert timeout - 0.1 <= seconds <= timeout + SLACK
    assert full_at is not None and full_cpu is not None, "the host never stopped reading"
    idle_wall = got["end"] - full_at
    idle_cpu = got["end_cpu"] - full_cpu
    assert idle_wall > 0.2  # there was a stretch to measure
    assert idle_cpu < 0.25 * idle_wall  # blocked in poll(), not spinning
    assert not process_alive(pid)


def test_control_background_flood_blocks_mains_next_call(sandbox: RunnerFactory) -> None:
    """Control: while a plugin thread floods requests and its call sleeps, main's host loop
    is stuck writing replies instead of timing out at the deadline."""
    r = _attacker(sandbox)
    assert r.call("flood_in_background", [], None) == "started"
    outcome, seconds = legacy_call(r, "pause", [60])
    r._stop()
    assert outcome == "stuck"
    assert seconds >= TIMEOUT + 1


def test_close_returns_while_a_worker_floods_without_reading(sandbox: RunnerFactory) -> None:
    """close() on a plugin whose thread floods requests and reads nothing returns in bounded
    time (shutdown call deadline, exit grace, kill) and leaves no process behind."""
    r = _attacker(sandbox)
    pid = r.pid()
    assert pid is not None
    assert r.call("flood_in_background", [], None) == "started"
    time.sleep(0.5)
    start = time.monotonic()
    r.close()
    assert time.monotonic() - start <= TIMEOUT + 1 + SLACK
    assert not process_alive(pid)


def test_control_log_flood_kept_mains_call_past_the_deadline(sandbox: RunnerFactory) -> None:
    """Control: with main's deadline check (only when no frame waits), a log flood made the
    host accept a result long after timeout_s."""
    r = _attacker(sandbox)
    outcome, seconds = legacy_call(r, "chatter", [TIMEOUT + 2.5])
    r._stop()
    assert outcome == "result"
    assert seconds >= TIMEOUT + 2


def test_log_flood_does_not_extend_the_call(sandbox: RunnerFactory) -> None:
    """A channel kept full of log frames no longer postpones the deadline: WF401 in time."""
    r = _attacker(sandbox)
    err, seconds = _timed_call(r, "chatter", [TIMEOUT + 2.5])
    assert isinstance(err, PluginTimeout)
    assert seconds <= TIMEOUT + SLACK


def test_control_dripped_frame_outlasts_per_read_timeouts(sandbox: RunnerFactory) -> None:
    """Control: past the call's deadline the dripped frame is still incomplete while every
    read succeeds, so per-read timeouts (a blocking reader's only bound) never fire."""
    r = _attacker(sandbox)
    chan = r._chan
    assert chan is not None
    chan.send(Call(id=r._new_id(), method="drip", args=[60]))
    chan.timeout = TIMEOUT  # per read: each dripped byte renews it
    end = time.monotonic() + TIMEOUT + 1
    reads = 0
    while time.monotonic() < end:
        assert chan.recv_some()  # raises TimeoutError if the drip ever paused for TIMEOUT
        assert not chan.has_frame()
        reads += 1
    r._stop()
    assert reads >= 4


def test_slow_drip_frame_is_a_timeout(sandbox: RunnerFactory) -> None:
    """A frame sent one byte every half second ends in WF401 by the deadline, not later."""
    r = _attacker(sandbox)
    err, seconds = _timed_call(r, "drip", [60])
    assert isinstance(err, PluginTimeout)
    assert seconds <= TIMEOUT + SLACK


def test_control_half_closed_worker_keeps_running(sandbox: RunnerFactory) -> None:
    """Control: after closing its write end the host reads EOF, yet the worker keeps running."""
    r = _attacker(sandbox)
    pid = r.pid()
    assert pid is not None
    outcome, _ = legacy_call(r, "half_close", [30])
    assert outcome == "died"
    time.sleep(1.0)
    assert process_alive(pid)
    r._stop()


def test_half_closed_worker_is_stopped_at_once(sandbox: RunnerFactory) -> None:
    """A worker that half-closes its channel mid-call is stopped well before the deadline
    (WF402 saying it closed the channel without exiting); no process is left."""
    r = sandbox(ATTACKER)
    pid = r.pid()
    assert pid is not None
    start = time.monotonic()
    with pytest.raises(WorkerCrashed) as info:
        r.call("half_close", [60], 30)
    assert time.monotonic() - start < 30
    assert info.value.code == "WF402"
    assert "without exiting" in info.value.message
    assert not process_alive(pid)


def test_stdout_flood_does_not_extend_the_call(
    sandbox: RunnerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Flooding stdout while the call runs: the lines are rate-limited and the call still
    ends with WF401 by its deadline."""
    r = _attacker(sandbox)
    with caplog.at_level("INFO", logger="wiseflow.plugin.victim"):
        err, seconds = _timed_call(r, "shout", [TIMEOUT + 10])
    assert isinstance(err, PluginTimeout)
    assert seconds <= TIMEOUT + SLACK
    # control: the flood was real (more lines than the rate limit lets through)
    assert any("suppressed (rate limit)" in m for m in caplog.messages)


def test_stream_that_keeps_producing_is_not_cut(sandbox: RunnerFactory) -> None:
    """A fetch yielding an item every TIMEOUT/4 runs for twice its timeout_s: the deadline
    is per item, so a stream that keeps producing is fine."""
    r = _attacker(sandbox, STREAMER, kind="connector")
    n = 8
    start = time.monotonic()
    got = list(r.stream("fetch", [{"mode": "steady", "n": n, "every": TIMEOUT / 4}], None))
    assert [x.id for x in got if isinstance(x, Record)] == ["first", *map(str, range(n))]
    assert time.monotonic() - start >= TIMEOUT


def test_stream_of_logs_and_requests_without_items_is_cut(sandbox: RunnerFactory) -> None:
    """A fetch that stops yielding but keeps logging and asking for secrets ends with WF401
    one timeout_s after its last item, which is delivered."""
    r = _attacker(sandbox, STREAMER, kind="connector")
    got: list[Any] = []
    start = time.monotonic()
    with pytest.raises(PluginTimeout):
        for item in r.stream("fetch", [{"mode": "logs"}], None):
            got.append(item)
    assert [x.id for x in got if isinstance(x, Record)] == ["first"]
    assert time.monotonic() - start <= TIMEOUT + SLACK


def test_control_empty_chunks_reach_the_host_past_the_deadline(sandbox: RunnerFactory) -> None:
    """Control: the worker really sends item-less chunks of its stream after the deadline
    (main renewed the deadline on each chunk)."""
    r = _attacker(sandbox, STREAMER, kind="connector")
    chan = r._chan
    assert chan is not None
    rid = r._new_id()
    chan.send(Call(id=rid, method="fetch", args=[{"mode": "empty", "rid": rid}], stream=True,
                   credit=1000))  # fmt: skip
    chan.timeout = SAFETY
    end = time.monotonic() + TIMEOUT + 1
    empty_after_deadline = 0
    while empty_after_deadline < 3 and time.monotonic() < end + SAFETY:
        msg = chan.recv()
        if isinstance(msg, Chunk) and msg.id == rid and not msg.items and not msg.records:
            empty_after_deadline += time.monotonic() > end
    r._stop()
    assert empty_after_deadline == 3


def test_stream_of_empty_chunks_is_cut(sandbox: RunnerFactory) -> None:
    """Chunks without items do not renew a stream's deadline: WF401 in time."""
    r = _attacker(sandbox, STREAMER, kind="connector")
    start = time.monotonic()
    got = []
    with pytest.raises(PluginTimeout):
        for item in r.stream("fetch", [{"mode": "empty", "rid": r._next_id + 1}], None):
            got.append(item)
    assert [x.id for x in got if isinstance(x, Record)] == ["first"]
    assert time.monotonic() - start <= TIMEOUT + SLACK


FLOOD_SOURCE = """
import struct
import msgspec

FD = int(sys.argv[1])

class P(ConnectorPlugin):
    def fetch(self, state):
        body = msgspec.msgpack.encode(["cap", 1, "secret", ["X" * 60000]])
        burst = (struct.pack(">I", len(body)) + body) * 16
        while True:
            os.write(FD, burst)
        yield
"""

GOOD_SOURCE = """
class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(300):
            yield Record(id=str(i), source="good")
"""


def test_one_hostile_source_does_not_stall_the_other(tmp_path: Path) -> None:
    """A pipeline with a request-flooding source and a normal one: every normal record is
    stored, the hostile stage fails with WF401, and the run ends in bounded time."""
    extra = f"[plugin.resources]\ntimeout_s = {TIMEOUT}\n"
    write_plugin(tmp_path, FLOOD_SOURCE, name="flood", kind="connector", manifest_extra=extra)
    write_plugin(tmp_path, GOOD_SOURCE, name="good", kind="connector", manifest_extra=extra)
    once = PluginPolicy(retry=Retry(attempts=1))
    pm = make_manager(
        plugin_dirs=[tmp_path / "plugins"],
        level="sandboxed",
        data_dir=tmp_path / "wf",
        config=OperatorConfig(plugins={"flood": once, "good": once}),
    )
    pipeline = parse_pipeline(
        '[pipeline]\nname = "t"\nbatch_size = 50\n'
        '[[sources]]\nplugin = "flood"\n[[sources]]\nplugin = "good"\n'
    )
    done: list[Any] = []
    try:
        start = time.monotonic()
        t = threading.Thread(
            target=lambda: done.append(wiseflow.run_pipeline(pipeline, manager=pm, report="")),
            daemon=True,
        )
        t.start()
        t.join(TIMEOUT + 30)
        seconds = time.monotonic() - start
        assert done, "the run did not end"
        summary = done[0]
        assert seconds <= TIMEOUT + 15
        with Store.open(tmp_path / "wf") as store:
            assert store.count() == 300
        assert [(e["plugin"], e["code"]) for e in summary.errors] == [("flood", "WF401")]
    finally:
        pm.close()


def test_ordinary_calls_still_work_after_a_timeout(sandbox: RunnerFactory) -> None:
    """After a deadline kill, load() + initialize() give a worker that answers normally."""
    r = _attacker(sandbox)
    _timed_call(r, "chatter", [TIMEOUT + 2.5])
    r.load()
    r.initialize({})
    assert r.call("process", [[Record(id="x", source="s")]], 10)[0].id == "x"


def test_the_wf401_message_names_the_limit_that_applied(sandbox: RunnerFactory) -> None:
    """WF401 says which limit passed: the call's own (here 1.5 s, tighter than the
    manifest's) and, for a later call, the manifest's timeout_s."""
    r = _attacker(sandbox)
    with pytest.raises(PluginTimeout) as first:
        r.call("pause", [30], 1.5)
    assert "did not finish pause() within 1.5 s" in first.value.message
    r.load()
    r.initialize({})
    err, _ = _timed_call(r, "pause", [30])
    assert f"did not finish pause() within {TIMEOUT:g} s" in err.message
