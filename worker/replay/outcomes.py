"""What became of each dead letter a replay took, and why a replay stopped early: values, never
strings compared. A summary counts them under the keys its JSON has always had."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ReplayOutcome(StrEnum):
    """One dead letter's replay. Every outcome but REPLAYED leaves the letter in its queue; the
    value is the key a summary counts it under."""

    REPLAYED = "replayed"  # confirmed: the letter is acked
    MALFORMED_X_DEATH = "malformed_x_death"  # --as-is: where it died from is unknown
    UNPUBLISHABLE_HEADERS = "unpublishable_headers"  # --as-is: headers cannot be sent again
    NOT_A_TRIGGER_EVENT = "not_a_trigger_event"
    INVALID_EVENT = "invalid_event"  # an event a request cannot carry (a NUL in its id)
    NOT_AN_INVOKE_REQUEST = "not_an_invoke_request"


@dataclass(frozen=True)
class Refusal:
    """A worker refused the replay: `code` is its first error's code, or its status."""

    code: str


# What `replay` makes of one letter: an outcome of its own, or a worker's refusal.
Outcome = ReplayOutcome | Refusal


class Halt(StrEnum):
    """Why a replay stopped before its end, leaving the rest in the queue."""

    INTERRUPTED = "interrupted"  # asked to stop while waiting out a rate limit
    NO_REPLY = "no_reply"  # the request was confirmed but no worker answered in time
    BROKER_UNAVAILABLE = "broker_unavailable"  # a request the broker did not take
    PUBLISH_FAILED = "publish_failed"  # an --as-is publish the broker did not take


class Unavailable(Exception):
    """No worker answered or the broker refused: stop, leaving the rest in the queue."""

    def __init__(self, halt: Halt, error: BaseException | None = None) -> None:
        # The summary's key: the halt, and the broker error's type when there was one.
        super().__init__(halt.value if error is None else f"{halt.value}: {type(error).__name__}")
        self.halt = halt


@dataclass
class ReplaySummary:
    matched: int = 0
    replayed: int = 0
    skipped: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False

    def count(self, outcome: Outcome) -> None:
        """One letter's outcome: replayed, or failed under its outcome or refusal code."""
        if outcome is ReplayOutcome.REPLAYED:
            self.replayed += 1
        elif isinstance(outcome, Refusal):
            self.failed[outcome.code] += 1
        else:
            self.failed[outcome.value] += 1

    def stopped(self, reason: Unavailable) -> None:
        """The replay stopped early; an interruption asked for is no failure."""
        self.interrupted = True
        if reason.halt is not Halt.INTERRUPTED:
            self.failed[str(reason)] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "replayed": self.replayed,
            "skipped": self.skipped,
            "failed": dict(self.failed),
            "interrupted": self.interrupted,
        }
