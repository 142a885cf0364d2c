"""Which evaluations notify (hooks and emails), per notification mode: the table of reference/airvantage.md.

| mode                         | false→true | true→false | true→true | false→false |
|------------------------------|:----------:|:----------:|:---------:|:-----------:|
| EVERY_TIME                   |     ✔      |            |     ✔     |             |
| WHEN_STATE_CHANGES (default) |     ✔      |     ✔      |           |             |
| WHEN_STATE_TRUE              |     ✔      |            |           |             |
| WHEN_STATE_FALSE             |            |     ✔      |           |             |
| IN_ALL_CASES                 |     ✔      |     ✔      |     ✔     |      ✔      |

A stateful rule's evaluation is a transition from its previous state (a new target's previous state counts
as false) to the outcome; an unknown outcome (None) is no transition, so it never notifies. For a stateless
rule every evaluation whose conditions hold is an alert: EVERY_TIME and IN_ALL_CASES notify on each, the
state-based modes on none.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "TRANSITIONS",
    "Transition",
    "notifies_stateless_alert",
    "notifies_transition",
    "should_notify",
    "transition",
]

TRANSITIONS: dict[str, frozenset[tuple[bool, bool]]] = {
    "EVERY_TIME": frozenset({(False, True), (True, True)}),
    "WHEN_STATE_CHANGES": frozenset({(False, True), (True, False)}),
    "WHEN_STATE_TRUE": frozenset({(False, True)}),
    "WHEN_STATE_FALSE": frozenset({(True, False)}),
    "IN_ALL_CASES": frozenset({(False, True), (True, False), (True, True), (False, False)}),
}
"""mode -> the (previous, current) state pairs that notify."""
_STATELESS_MODES = frozenset({"EVERY_TIME", "IN_ALL_CASES"})


class Transition(NamedTuple):
    """A stateful rule's step for one target: from `previous` (False for a new target) to `current`."""

    previous: bool
    current: bool

    @property
    def changed(self) -> bool:
        """Whether the state changes (then a state-history row is written and stateChangeTs moves)."""
        return self.previous != self.current


def transition(previous: bool | None, outcome: bool | None) -> Transition | None:
    """The step an evaluation makes: None when the outcome is unknown (the rule keeps its state).
    `previous` None means the target has no state yet, which counts as false."""
    if outcome is None:
        return None
    return Transition(bool(previous), outcome)


def _transitions(mode: str) -> frozenset[tuple[bool, bool]]:
    try:
        return TRANSITIONS[mode]
    except KeyError:
        raise ValueError(f"unknown notifMode {mode!r}") from None


def notifies_transition(mode: str, previous: bool | None, current: bool) -> bool:
    """Whether a stateful rule in `mode` notifies when a target goes from `previous` to `current`."""
    return (bool(previous), current) in _transitions(mode)


def notifies_stateless_alert(mode: str) -> bool:
    """Whether a stateless rule in `mode` notifies on each alert it raises."""
    _transitions(mode)
    return mode in _STATELESS_MODES


def should_notify(mode: str, *, stateful: bool, previous: bool | None, outcome: bool | None) -> bool:
    """Whether one evaluation notifies. `outcome` is the rule's three-valued result; `previous` the target's
    stored state (None: no state yet; ignored for stateless rules)."""
    if outcome is None:
        _transitions(mode)
        return False
    if not stateful:
        return outcome and notifies_stateless_alert(mode)
    return notifies_transition(mode, previous, outcome)
