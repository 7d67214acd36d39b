"""Lifecycle: the declared transition table, events in order, isolated hooks."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from wiseflow import EventBus, InvalidTransition, PluginEvent, PluginState
from wiseflow._host._lifecycle import TRANSITIONS, Lifecycle

S = PluginState
ALL_PAIRS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS)
def test_every_pair_is_allowed_exactly_when_declared(old: PluginState, new: PluginState) -> None:
    """Each (from, to) pair either transitions and publishes, or raises WF405 and stays."""
    bus = EventBus()
    seen: list[PluginEvent] = []
    bus.subscribe(seen.append)
    lc = Lifecycle("p", bus)
    lc.state = old
    if (old, new) in TRANSITIONS:
        event = lc.transition(new, "why")
        assert lc.state is new
        assert seen == [event]
        assert (event.plugin, event.old, event.new, event.reason) == ("p", old, new, "why")
        assert event.event == TRANSITIONS[(old, new)]
        assert event.time.tzinfo is not None
    else:
        with pytest.raises(InvalidTransition) as info:
            lc.transition(new)
        assert info.value.code == "WF405"
        assert lc.state is old
        assert seen == []


def test_uninstalled_is_terminal() -> None:
    """Nothing leaves UNINSTALLED."""
    assert not [pair for pair in TRANSITIONS if pair[0] is S.UNINSTALLED]


def test_events_arrive_in_transition_order() -> None:
    """A full life publishes load, initialize, activate, disable, enable, shutdown in order."""
    bus = EventBus()
    names: list[str] = []
    bus.subscribe(lambda e: names.append(e.event))
    lc = Lifecycle("p", bus)
    for state in (S.LOADED, S.INITIALIZED, S.ACTIVE, S.DISABLED, S.ACTIVE, S.UNLOADED):
        lc.transition(state)
    assert names == ["load", "initialize", "activate", "disable", "enable", "shutdown"]
    assert [e.new for e in lc.history][-1] is S.UNLOADED


def test_failing_hooks_and_subscribers_never_break_a_transition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raising hook or subscriber is logged and counted; later hooks still run."""
    bus = EventBus()
    ran: list[str] = []

    def bad(_: PluginEvent) -> None:
        raise RuntimeError("hook bug")

    bus.subscribe(bad)
    bus.subscribe(lambda e: ran.append("subscriber"))
    lc = Lifecycle("p", bus)
    lc.on(S.LOADED, bad)
    lc.on("load", lambda e: ran.append("event hook"))
    lc.on(S.LOADED, lambda e: ran.append("state hook"))
    with caplog.at_level(logging.ERROR, logger="wiseflow.lifecycle"):
        lc.transition(S.LOADED)
    assert lc.state is S.LOADED
    assert sorted(ran) == ["event hook", "state hook", "subscriber"]
    assert bus.errors == 2
    assert "hook bug" in caplog.text


def test_async_subscribers_are_awaited() -> None:
    """An async subscriber runs to completion when no loop is running."""
    bus = EventBus()
    got: list[str] = []

    async def sub(e: PluginEvent) -> None:
        await asyncio.sleep(0)
        got.append(e.event)

    bus.subscribe(sub)
    Lifecycle("p", bus).transition(S.LOADED)
    assert got == ["load"]


def test_subscription_can_be_scoped_and_removed() -> None:
    """Per-plugin subscriptions see only that plugin; unsubscribe stops delivery."""
    bus = EventBus()
    a: list[str] = []
    unsubscribe = bus.subscribe(lambda e: a.append(e.plugin), plugin="a")
    Lifecycle("a", bus).transition(S.LOADED)
    Lifecycle("b", bus).transition(S.LOADED)
    unsubscribe()
    Lifecycle("a", bus).transition(S.LOADED)
    assert a == ["a"]
    bus.subscribe(lambda e: None, plugin="z")
    assert bus.unsubscribe_plugin("z") == 1


def test_unknown_hook_key_is_refused() -> None:
    """Hooks attach to real states or transition names only."""
    with pytest.raises(ValueError, match="unknown state or event"):
        Lifecycle("p", EventBus()).on("explode", lambda e: None)


class LifecycleMachine(RuleBasedStateMachine):
    """Random walks over all states keep the machine and the event log consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.bus = EventBus()
        self.events: list[PluginEvent] = []
        self.bus.subscribe(self.events.append)
        self.lc = Lifecycle("m", self.bus)
        self.model = S.UNLOADED

    @rule(goal=st.sampled_from(list(S)))
    def attempt(self, goal: PluginState) -> None:
        target = goal
        before = len(self.events)
        if (self.model, target) in TRANSITIONS:
            self.lc.transition(target)
            self.model = target
            assert len(self.events) == before + 1
        else:
            with pytest.raises(InvalidTransition):
                self.lc.transition(target)
            assert len(self.events) == before

    @invariant()
    def state_matches_model(self) -> None:
        assert self.lc.state is self.model

    @invariant()
    def events_chain(self) -> None:
        for prev, nxt in zip(self.events, self.events[1:], strict=False):
            assert prev.new == nxt.old


TestLifecycleMachine = LifecycleMachine.TestCase
TestLifecycleMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
