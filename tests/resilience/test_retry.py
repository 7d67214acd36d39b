"""Retries: transient failures and worker crashes are retried with backoff; nothing else."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from resilience_kit import config, policy, recs, write_plugin

from wiseflow import (
    Checkpoint,
    ConnectorPlugin,
    PluginState,
    ProcessorPlugin,
    Record,
    TransientError,
)
from wiseflow._host._resilience import RetryPolicy, is_non_idempotent


def flaky_processor(k: int, *, retry_after: float | None = None) -> type[ProcessorPlugin]:
    class Flaky(ProcessorPlugin):
        name = "flaky"
        calls = 0

        def process(self, batch: list[Record]) -> list[Record]:
            type(self).calls += 1
            if type(self).calls <= k:
                raise TransientError("upstream 503", retry_after=retry_after)
            return batch

    return Flaky


def test_flaky_plugin_is_retried_and_succeeds(wiseflow_manager: Any) -> None:
    """A processor failing twice with TransientError then succeeding returns its result."""
    cls = flaky_processor(2)
    pm = wiseflow_manager(cls, config=config(flaky=policy(attempts=4)))
    handle = pm.start("flaky")
    assert handle.process(recs(3)) == recs(3)
    assert cls.calls == 3
    assert handle.stats.retries == 2 and handle.stats.errors == 0
    assert handle.breaker is not None and handle.breaker.consecutive == 0


def test_retries_stop_after_the_configured_attempts(wiseflow_manager: Any) -> None:
    """With attempts = 2, a plugin failing three times fails with WF407 after two calls."""
    cls = flaky_processor(3)
    pm = wiseflow_manager(cls, config=config(flaky=policy(attempts=2)))
    handle = pm.start("flaky")
    with pytest.raises(TransientError) as info:
        handle.process(recs(1))
    assert info.value.code == "WF407"
    assert cls.calls == 2
    assert handle.state is PluginState.ACTIVE  # transient: not a reason for ERROR


def test_retry_after_is_honoured(wiseflow_manager: Any) -> None:
    """The wait before the retry is at least the retry_after the plugin asked for."""
    cls = flaky_processor(1, retry_after=0.2)
    pm = wiseflow_manager(cls, config=config(flaky=policy(attempts=2, max_backoff_s=1)))
    handle = pm.start("flaky")
    t0 = time.monotonic()
    handle.process(recs(1))
    assert time.monotonic() - t0 >= 0.2


def test_retry_after_beyond_max_backoff_fails_at_once(wiseflow_manager: Any) -> None:
    """A source asking to wait longer than max_backoff_s is not waited for."""
    cls = flaky_processor(1, retry_after=3600)
    pm = wiseflow_manager(cls, config=config(flaky=policy(attempts=5)))
    handle = pm.start("flaky")
    t0 = time.monotonic()
    with pytest.raises(TransientError):
        handle.process(recs(1))
    assert cls.calls == 1 and time.monotonic() - t0 < 1


def test_non_idempotent_method_is_never_retried(wiseflow_manager: Any) -> None:
    """A method listed in the class's non_idempotent set is called once, even if transient."""

    class Once(ProcessorPlugin):
        name = "once"
        non_idempotent = frozenset({"process"})
        calls = 0

        def process(self, batch: list[Record]) -> list[Record]:
            type(self).calls += 1
            raise TransientError("maybe sent twice")

    pm = wiseflow_manager(Once, config=config(once=policy(attempts=5)))
    with pytest.raises(TransientError):
        pm.start("once").process(recs(1))
    assert Once.calls == 1


def test_non_idempotent_function_marker_is_recognised() -> None:
    """A method carrying __wiseflow_non_idempotent__ = True is treated as non-idempotent."""

    class P(ProcessorPlugin):
        def process(self, batch: list[Record]) -> list[Record]:
            return batch

    assert not is_non_idempotent(P, "process")
    P.process.__wiseflow_non_idempotent__ = True  # type: ignore[attr-defined]
    assert is_non_idempotent(P, "process")


def test_stream_is_retried_before_its_first_item(wiseflow_manager: Any) -> None:
    """A fetch failing transiently before yielding anything is started again."""

    class Src(ConnectorPlugin):
        name = "src"
        starts = 0

        def fetch(self, state: dict[str, Any] | None) -> Any:
            type(self).starts += 1
            if type(self).starts < 3:
                raise TransientError("not yet")
            yield from recs(4)
            yield Checkpoint(state={"n": 4})

    pm = wiseflow_manager(Src, config=config(src=policy(attempts=4)))
    items = list(pm.start("src").fetch(None))
    assert Src.starts == 3 and len(items) == 5


def test_stream_is_not_replayed_after_its_first_item(wiseflow_manager: Any) -> None:
    """A fetch failing after yielding records is not restarted (that would duplicate them)."""

    class Src(ConnectorPlugin):
        name = "src"
        starts = 0

        def fetch(self, state: dict[str, Any] | None) -> Any:
            type(self).starts += 1
            yield from recs(2)
            raise TransientError("mid-stream")

    pm = wiseflow_manager(Src, config=config(src=policy(attempts=4)))
    got: list[Any] = []
    with pytest.raises(TransientError):
        for item in pm.start("src").fetch(None):
            got.append(item)
    assert Src.starts == 1 and len(got) == 2


CRASH_TWICE = """
class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.ctx = ctx

    def process(self, batch):
        marker = os.path.join(str(self.ctx.data_dir), "crashes")
        n = int(open(marker).read()) if os.path.exists(marker) else 0
        if n < 2:
            with open(marker, "w") as f:
                f.write(str(n + 1))
            os._exit(7)
        return [r.replace(title=r.title + "!") for r in batch]
"""


def test_crashed_worker_is_restarted_and_the_call_retried(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """A sandboxed worker dying twice (WF402) is restarted; the third worker answers."""
    write_plugin(tmp_path / "plugins", "crashy", CRASH_TWICE)
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"], level="sandboxed", config=config(crashy=policy())
    )
    handle = pm.start("crashy")
    first_pid = handle.runner.pid()
    out = handle.process(recs(2))
    assert [r.title for r in out] == ["t0!", "t1!"]
    assert handle.stats.restarts == 2 and handle.stats.retries == 2
    assert handle.runner.pid() not in (None, first_pid)
    assert handle.state is PluginState.ACTIVE


@given(
    attempt=st.integers(min_value=1, max_value=30),
    backoff=st.floats(min_value=0.001, max_value=5),
    cap=st.floats(min_value=0.001, max_value=60),
    jitter=st.floats(min_value=0, max_value=0.999),
)
def test_backoff_is_exponential_jittered_and_capped(
    attempt: int, backoff: float, cap: float, jitter: float
) -> None:
    """delay(n) lies in [b·2^(n-1), 1.5·b·2^(n-1)], never above max_backoff_s."""
    p = RetryPolicy(attempts=3, backoff_s=backoff, max_backoff_s=cap, rng=lambda: jitter)
    d = p.delay(attempt, None)
    base = backoff * 2 ** (attempt - 1)
    assert d <= p.max_backoff_s + 1e-9
    assert min(base, p.max_backoff_s) - 1e-9 <= d <= min(base * 1.5, p.max_backoff_s) + 1e-9


def test_public_non_idempotent_decorator_prevents_retries(wiseflow_manager: Any) -> None:
    """`@wiseflow.non_idempotent` on a method means it is called once, never retried."""
    from wiseflow import non_idempotent

    class Post(ProcessorPlugin):
        name = "post"
        calls = 0

        @non_idempotent
        def process(self, batch: list[Record]) -> list[Record]:
            type(self).calls += 1
            raise TransientError("the remote may have received it")

    pm = wiseflow_manager(Post, config=config(post=policy(attempts=5)))
    with pytest.raises(TransientError):
        pm.start("post").process(recs(1))
    assert Post.calls == 1


POST = """
class P(ProcessorPlugin):
    MARKER

    def initialize(self, ctx):
        self.ctx = ctx

    DECORATOR
    def process(self, batch):
        with open(os.path.join(str(self.ctx.data_dir), "posts"), "a") as f:
            f.write("x")
        raise TransientError("the remote may have received it")
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
@pytest.mark.parametrize("marker", ["decorator", "class set"])
def test_a_non_idempotent_method_is_called_once_at_every_level(
    tmp_path: Path, wiseflow_manager: Any, level: str, marker: str
) -> None:
    """A sandboxed plugin's marks are honoured like a trusted one's: its worker reports
    them at load, so the non-idempotent method is not retried on a TransientError."""
    code = POST.replace("DECORATOR", "@non_idempotent" if marker == "decorator" else "")
    code = code.replace("MARKER", 'non_idempotent = {"process"}' if marker != "decorator" else "")
    write_plugin(tmp_path / "plugins", "post", code)
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"], level=level, config=config(post=policy(attempts=5))
    )
    handle = pm.start("post")
    with pytest.raises(TransientError):
        handle.process(recs(1))
    [posts] = list(tmp_path.rglob("posts"))
    assert posts.read_text() == "x"  # called once: the remote got one post, not five
    assert handle.stats.retries == 0


def _failing(n: int, exc: Exception) -> Any:
    """An attempt that fails ``n`` times with ``exc``, then returns the attempt number."""
    made = [0]

    def attempt() -> int:
        made[0] += 1
        if made[0] <= n:
            raise exc
        return made[0] + 1  # the caller's own first attempt came before

    return attempt


def test_the_retry_loop_waits_restarts_and_returns_the_first_success() -> None:
    """After a first failure, again() waits delay(n) before attempt n+1, runs before_retry
    each time, and returns the first success."""
    waits: list[float] = []
    seen: list[BaseException] = []
    p = RetryPolicy(attempts=4, backoff_s=0.1, max_backoff_s=1.0, sleep=waits.append, rng=lambda: 0)
    first = TransientError("503")
    assert p.again("process", _failing(2, TransientError("503")), first, seen.append) == 4
    assert waits == [0.1, 0.2, 0.4]
    assert len(seen) == 3 and seen[0] is first


def test_the_retry_loop_raises_the_last_failure_after_its_attempts() -> None:
    """With attempts = 3 the loop makes two more attempts, then raises the last failure."""
    last = TransientError("still 503")
    p = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda s: None)
    with pytest.raises(TransientError) as info:
        p.again("process", _failing(5, last), TransientError("503"), lambda e: None)
    assert info.value is last


def test_the_retry_loop_never_retries_what_is_not_retryable() -> None:
    """A first failure that is not retryable (or a policy of one attempt) is raised as it is."""
    boom = ValueError("bad record")
    p = RetryPolicy(attempts=5, backoff_s=0.0, sleep=lambda s: None)
    with pytest.raises(ValueError) as info:
        p.again("process", _failing(0, boom), boom, lambda e: pytest.fail("no retry"))
    assert info.value is boom
    one = RetryPolicy(attempts=1)
    first = TransientError("503")
    with pytest.raises(TransientError) as info2:
        one.again("process", _failing(0, first), first, lambda e: pytest.fail("no retry"))
    assert info2.value is first


def test_tenacity_is_not_needed_for_retries() -> None:
    """Retries run on the host's own loop: the handle and its policy never import tenacity."""
    code = (
        "import sys, wiseflow._host._handle, wiseflow._host._resilience, wiseflow._host._manager\n"
        "print('tenacity' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
