"""Circuit breaker: opens on repeated failure, fails fast or hands over to the fallback,
half-opens after its reset time and closes when the plugin recovers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from resilience_kit import config, events_of, policy, recs

from wiseflow import CircuitOpen, Manifest, ProcessorPlugin, Record, TransientError
from wiseflow._host._resilience import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_n_consecutive_failures() -> None:
    """Three failures in a row open a breaker with failures=3; a success in between resets."""
    changes: list[tuple[str, str]] = []
    b = CircuitBreaker(3, 10, on_change=lambda o, n, r: changes.append((o.value, n.value)))
    b.failure("x")
    b.failure("x")
    b.success()
    b.failure("x")
    b.failure("x")
    assert b.state is BreakerState.CLOSED
    b.failure("x")
    assert b.state is BreakerState.OPEN and not b.allow()
    assert changes == [("closed", "open")]


def test_clean_follows_every_change_and_is_never_set_with_a_window() -> None:
    """``clean`` (what the handle's usual path reads instead of calling success()) is true
    only while closed with no failure since the last success, and never with a window."""
    b = CircuitBreaker(3, 10)
    assert b.clean
    b.failure("x")
    assert not b.clean
    b.success()
    assert b.clean
    b.trip("WF401")
    assert not b.clean
    b.reset()
    assert b.clean
    windowed = CircuitBreaker(3, 10, window=10)
    windowed.success()
    assert not windowed.clean  # every success feeds the window: success() must be called


def test_breaker_half_opens_after_reset_and_lets_one_trial_through() -> None:
    """After reset_s one trial call is allowed (others fail fast); success closes it."""
    clock = Clock()
    b = CircuitBreaker(1, 5, clock=clock)
    b.failure("down")
    assert not b.allow()
    clock.now = 5.0
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow() and not b.allow()  # one trial at a time
    b.success()
    assert b.state is BreakerState.CLOSED and b.allow()


def test_failed_trial_reopens_and_restarts_the_timer() -> None:
    """A failing trial call opens the breaker again for another reset_s."""
    clock = Clock()
    b = CircuitBreaker(1, 5, clock=clock)
    b.failure("down")
    clock.now = 6.0
    assert b.allow()
    b.failure("still down")
    assert b.state is BreakerState.OPEN
    clock.now = 10.0
    assert not b.allow()
    clock.now = 11.0
    assert b.allow()


def test_breaker_opens_on_failure_rate_over_a_window() -> None:
    """With window=10 and rate=0.5, alternating failures (never 3 in a row) still open it."""
    b = CircuitBreaker(3, 10, window=10, rate=0.5, min_calls=10)
    for i in range(10):
        if i % 2:
            b.failure("x")
        else:
            b.success()
    assert b.state is BreakerState.OPEN


class Primary(ProcessorPlugin):
    name = "primary"
    manifest_fallback = "backup"
    healthy = False
    calls = 0

    def process(self, batch: list[Record]) -> list[Record]:
        type(self).calls += 1
        if not type(self).healthy:
            raise TransientError("upstream down")
        return [r.annotate("by", "primary") for r in batch]


class Backup(ProcessorPlugin):
    name = "backup"

    def process(self, batch: list[Record]) -> list[Record]:
        return [r.annotate("by", "backup") for r in batch]


def _manifest(cls: type[Any], fallback: str | None = None) -> tuple[Manifest, type[Any]]:
    m = Manifest(name=cls.name, version="1.0.0", kind="processor", entry="x:y", fallback=fallback)
    return (m, cls)


def test_open_breaker_hands_over_to_fallback_and_closes_when_plugin_recovers(
    wiseflow_manager: Any,
) -> None:
    """Failing primary → breaker-open event, backup serves; after reset_s the trial call
    reaches the recovered primary → breaker-half-open, breaker-closed."""
    Primary.healthy, Primary.calls = False, 0
    pm = wiseflow_manager(
        _manifest(Primary, "backup"),
        _manifest(Backup),
        config=config(primary=policy(attempts=2, failures=2, reset_s=0.3)),
    )
    seen = events_of(pm, "primary")
    handle = pm.start("primary")
    clock = Clock()  # the breaker's own clock: no sleeping, no timing races under load
    handle.breaker._clock = clock
    assert handle.fallback is pm.get("backup")
    for _ in range(2):
        with pytest.raises(TransientError):
            handle.process(recs(1))
    assert "breaker-open" in seen
    calls_when_open = Primary.calls
    out = handle.process(recs(2))
    assert [r.annotations["by"] for r in out] == ["backup", "backup"]
    assert Primary.calls == calls_when_open  # failing fast: the primary was not called
    assert handle.stats.fallback_calls == 1
    Primary.healthy = True
    clock.now += 0.3
    out = handle.process(recs(1))
    assert out[0].annotations["by"] == "primary"
    assert seen[-2:] == ["breaker-half-open", "breaker-closed"]
    assert handle.describe()["breaker"]["state"] == "closed"


def test_open_breaker_without_fallback_fails_fast_with_wf404(wiseflow_manager: Any) -> None:
    """Without a fallback, calls while open raise CircuitOpen (WF404) without calling in."""
    Primary.healthy, Primary.calls = False, 0
    pm = wiseflow_manager(
        Primary, config=config(primary=policy(attempts=1, failures=2, reset_s=60))
    )
    handle = pm.start("primary")
    for _ in range(2):
        with pytest.raises(TransientError):
            handle.process(recs(1))
    t0 = time.perf_counter()
    with pytest.raises(CircuitOpen) as info:
        handle.process(recs(1))
    assert info.value.code == "WF404" and info.value.plugin == "primary"
    assert Primary.calls == 2 and time.perf_counter() - t0 < 0.5


def test_fallback_of_another_kind_is_not_used(wiseflow_manager: Any) -> None:
    """A fallback must be of the same kind; otherwise the plugin runs without one."""
    from wiseflow import AnalyzerPlugin

    class Other(AnalyzerPlugin):
        name = "other"

        def analyze(self, batch: list[Record]) -> None:
            pass

        def result(self) -> dict[str, Any]:
            return {}

    m = Manifest(name="other", version="1.0.0", kind="analyzer", entry="x:y")
    pm = wiseflow_manager(_manifest(Primary, "other"), (m, Other))
    assert pm.start("primary").fallback is None


def test_single_bad_record_does_not_open_the_breaker(wiseflow_manager: Any) -> None:
    """Failures of multi-record batches give no verdict: bisecting one bad record in a batch
    of 64 leaves the breaker closed."""
    from wiseflow._host._resilience import counts_against_breaker

    assert not counts_against_breaker(ValueError("bad"), (recs(64),))
    assert counts_against_breaker(ValueError("bad"), (recs(1),))
    assert counts_against_breaker(TransientError("x"), (recs(64),))


ALLOWED = {("closed", "open"), ("open", "half-open"), ("half-open", "closed"),
           ("half-open", "open"), ("open", "closed"), ("half-open", "half-open")}  # fmt: skip


class BreakerMachine(RuleBasedStateMachine):
    """Any sequence of calls, outcomes and clock steps keeps the breaker's rules."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.changes: list[tuple[str, str]] = []
        self.b = CircuitBreaker(
            3, 10, clock=self.clock, on_change=lambda o, n, r: self.changes.append((o, n))
        )
        self.run = 0  # consecutive failures while closed, by the model
        self.in_trial = False

    @rule(seconds=st.floats(min_value=0, max_value=15))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule(ok=st.booleans())
    def call(self, ok: bool) -> None:
        before = self.b.state_
        opened_at_reset = self.b.retry_in() == 0
        allowed = self.b.allow()
        if before is BreakerState.OPEN:
            assert allowed == opened_at_reset  # fail fast until reset_s has passed
        if not allowed:
            return
        if ok:
            self.b.success()
            self.run = 0
            assert self.b.state is BreakerState.CLOSED
        else:
            self.b.failure("x")
            was_trial = before is not BreakerState.CLOSED
            self.run = 0 if was_trial else self.run + 1
            if was_trial or self.run >= 3:
                assert self.b.state_ is BreakerState.OPEN
                self.run = 0

    @invariant()
    def transitions_are_allowed(self) -> None:
        assert all((o.value, n.value) in ALLOWED for o, n in self.changes)

    @invariant()
    def clean_says_a_success_would_change_nothing(self) -> None:
        b = self.b
        assert b.clean == (b.state_ is BreakerState.CLOSED and b.consecutive == 0)


TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_fallback_that_fails_to_start_does_not_block_its_primary(wiseflow_manager: Any) -> None:
    """A fallback whose initialize fails leaves the primary running; the fallback (in ERROR)
    is not routed to until the operator brings it back."""

    class Broken(ProcessorPlugin):
        name = "backup"

        def initialize(self, ctx: Any) -> None:
            raise OSError("no disk")

        def process(self, batch: list[Record]) -> list[Record]:
            return batch

    Primary.healthy = True
    pm = wiseflow_manager(_manifest(Primary, "backup"), _manifest(Broken))
    handle = pm.start("primary")
    assert handle.state.value == "ACTIVE" and pm.get("backup").state.value == "ERROR"
    assert handle.process(recs(1))[0].annotations["by"] == "primary"
