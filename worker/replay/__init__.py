"""The dead-letter queues of trigger events and of invoke requests: look at them, and replay
what they hold.

Reading never consumes or reorders: messages are fetched unacknowledged (streamed by a
consumer, then `basic.get` until the queue says it is empty) and, when the
channel closes, RabbitMQ puts every one not acknowledged back at its original position. A
replay acknowledges a dead letter only after its replay is confirmed (a worker's `accepted`
answer, or the broker's publisher confirm for `--as-is`), so an interruption, a crash
included, loses nothing and leaves the rest in order. A replay of an event has an invocation
id derived from the event id, so replaying it twice makes one execution (unless `again`).
A dead-lettered invoke request is sent again as it was, under its own invocation id, so the
worker answers it as it would have and its event id is the one it would have had: one
execution, however often it is replayed and whatever happened before it died.

`letters`: one dead letter read as hostile input. `reading`: a queue read whole and handed
back in order; filters. `outcomes`: what became of a letter, and why a replay stopped.
`sending`: one letter sent again. `runner`: a whole replay.
"""

from worker.replay.letters import MALFORMED_X_DEATH, DeadLetter, DeadLetterQueue
from worker.replay.outcomes import (
    Halt,
    Outcome,
    Refusal,
    ReplayOutcome,
    ReplaySummary,
    Unavailable,
)
from worker.replay.reading import Filters, dead_letters, plan
from worker.replay.runner import replay
from worker.replay.sending import ReplayOptions

__all__ = [
    "MALFORMED_X_DEATH",
    "DeadLetter",
    "DeadLetterQueue",
    "Filters",
    "Halt",
    "Outcome",
    "Refusal",
    "ReplayOptions",
    "ReplayOutcome",
    "ReplaySummary",
    "Unavailable",
    "dead_letters",
    "plan",
    "replay",
]
