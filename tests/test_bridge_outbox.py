"""The bridge's outbox lanes and its budget for answering junk (controller/bridge/outbox.py)."""

from __future__ import annotations

import pytest

from controller.bridge.outbox import REFUSAL_BURST, REFUSALS_PER_S, Outbox, Outgoing, RefusalBudget

pytestmark = pytest.mark.fast


def message(name: str) -> Outgoing:
    return Outgoing(name, b"{}", qos=1)


def test_an_answer_to_a_command_overtakes_everything_queued_before_it():
    box = Outbox(size=3)
    for name in ("telemetry", "rep", "state"):
        box.put(message(name))
    box.put(message("estop answer"), urgent=True)
    sent = []
    while box:
        sent.append(box.next_lane().popleft().topic)
    assert sent == ["estop answer", "telemetry", "rep", "state"]


def test_a_full_lane_loses_its_own_oldest_and_never_the_other_lanes():
    box = Outbox(size=2)
    box.put(message("fault"), urgent=True)
    for name in ("a", "b", "c"):
        box.put(message(name))
    assert [m.topic for m in box.items] == ["b", "c"] and [m.topic for m in box.urgent] == ["fault"]
    assert box.dropped == 1


def test_junk_is_answered_in_a_burst_then_at_the_budgets_rate(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("controller.bridge.outbox.time.monotonic", lambda: now[0])
    budget = RefusalBudget()
    answered = sum(budget.take() for _ in range(1000))
    assert answered == REFUSAL_BURST and budget.unanswered == 1000 - REFUSAL_BURST
    now[0] += 2.0
    answered = sum(budget.take() for _ in range(1000))
    assert answered == int(2.0 * REFUSALS_PER_S)
