"""Failure events: fail or restore a link or a node at a step."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology

__all__ = ["FailureEvent", "parse_failure_spec", "events_from_specs", "down_sets_at", "refuse_repeated_failures"]

_SPEC = re.compile(r"^(?P<id>[^@]+)@(?P<step>\d+)(?::(?P<restore>\d+))?$")


@dataclass(frozen=True, order=True)
class FailureEvent:
    """``action`` the element ``target`` (a link or node id) at ``step``."""

    step: int
    action: Literal["fail", "restore"]
    target: str
    kind: Literal["link", "node"] = "link"


def parse_failure_spec(spec: str, topology: Topology, steps: int) -> list[FailureEvent]:
    """Parse ``ID@STEP[:RESTORE_STEP]`` into one or two events, validated against the run.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "a"), Node("b", "b")), (Link("a-b", "a", "b", 1e3),))
    >>> [e.action for e in parse_failure_spec("a-b@3:7", t, 10)]
    ['fail', 'restore']
    """
    m = _SPEC.match(spec.strip())
    if not m:
        raise InputError(f"failure '{spec}'", "expected ID@STEP or ID@STEP:RESTORE_STEP")
    target, step = m["id"], int(m["step"])
    kind = topology.check_element(target)
    if not 0 <= step < steps:
        raise InputError(f"failure '{spec}'", f"step {step} is outside the run (0..{steps - 1})")
    events = [FailureEvent(step, "fail", target, kind)]  # type: ignore[arg-type]  # kind: check_element's "link" or "node"
    if m["restore"] is not None:
        restore = int(m["restore"])
        if restore <= step:
            raise InputError(f"failure '{spec}'", "the restore step must come after the failure step")
        if restore >= steps:
            raise InputError(f"failure '{spec}'", f"restore step {restore} is outside the run (0..{steps - 1})")
        events.append(FailureEvent(restore, "restore", target, kind))  # type: ignore[arg-type]  # kind: check_element's "link" or "node"
    return events


def events_from_specs(specs: Iterable[str], topology: Topology, steps: int) -> list[FailureEvent]:
    """All events of several ``--fail`` specs, sorted by step (fail before restore at a tie)."""
    events = [e for s in specs for e in parse_failure_spec(s, topology, steps)]
    return sorted(events, key=lambda e: (e.step, e.action != "fail", e.target))


def in_log_order(events: Iterable[FailureEvent]) -> list[FailureEvent]:
    """``events`` by step, keeping the order they were given in within a step (the event log's order).

    A failure log is append-only: seven clicks on one link at one step are seven events, and
    only their order says whether the link ends up down. Never sort events by action.

    >>> log = [FailureEvent(5, "fail", "a"), FailureEvent(5, "restore", "a"), FailureEvent(2, "fail", "b")]
    >>> [(e.step, e.action) for e in in_log_order(log)]
    [(2, 'fail'), (5, 'fail'), (5, 'restore')]
    """
    return sorted(events, key=lambda e: e.step)  # stable: the log's order within a step


def down_sets_at(events: Iterable[FailureEvent], step: int) -> tuple[frozenset[str], frozenset[str]]:
    """(down link ids, down node ids) in force at ``step``: the fold of the event log up to it.

    Events apply in log order (:func:`in_log_order`). Overlapping failures of the same element
    count: it is up again only once every failure of it has been restored.

    >>> t = [FailureEvent(3, a, "x") for a in ("fail", "restore", "fail", "restore", "fail")]
    >>> down_sets_at(t, 3)[0], down_sets_at(t[:4], 3)[0]
    (frozenset({'x'}), frozenset())
    """
    count: dict[tuple[str, str], int] = {}
    for e in in_log_order(events):
        if e.step > step:
            break
        key = (e.kind, e.target)
        count[key] = count.get(key, 0) + (1 if e.action == "fail" else -1)
        if count[key] < 0:
            count[key] = 0
    links = frozenset(t for (k, t), c in count.items() if k == "link" and c > 0)
    nodes = frozenset(t for (k, t), c in count.items() if k == "node" and c > 0)
    return links, nodes


def refuse_repeated_failures(events: Iterable[FailureEvent]) -> None:
    """InputError (``--fail``) when an element is failed again while it is still down.

    ``events`` are :class:`netdrift.engine.network.events.FailureEvent`; at one step a restore counts before a
    failure, so ``X@10:20`` with ``X@20`` is accepted (restored and failed again at 20).
    """
    down: dict[tuple[str, str], int] = {}
    for e in sorted(events, key=lambda e: (e.step, e.action == "fail")):
        key = (e.kind, e.target)
        if e.action == "restore":
            down.pop(key, None)
        elif key in down:
            raise InputError(f"failure '{e.target}@{e.step}'",
                             f"{e.kind} {e.target} is already down (failed at step {down[key]} and not restored "
                             "before); give a restore step between the two failures")
        else:
            down[key] = e.step
