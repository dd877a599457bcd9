"""The worker's own work per request, in-process: validating, resolving and judging the event,
then the accepted answer and its body, over the pipeline benchmark's mix of trigger types.

No services and no other process take part, so two checkouts compared alternately on a
noisy machine differ by their code far more than by the machine: the figure is the best of
`repeats` passes of `time.process_time`.

    python -m tests.benchmarks.product [--requests 600] [--repeats 25]
"""

from __future__ import annotations

import argparse
import time

from contracts.ids import execution_id_for_event, execution_url
from contracts.models import InvokeRequest, InvokeStatus
from contracts.specs import Trigger
from tests.benchmarks.bench import DEMO_TRIGGERS, mixed_requests
from tests.factories import demo_trigger
from worker.answers import answer, resolved
from worker.resolvers import prepare_invocation


def _accepted(request: InvokeRequest, trigger: Trigger) -> bytes:
    prepared = prepare_invocation(request, trigger)
    execution_id = execution_id_for_event(prepared.event.event_id)
    result = answer(
        request,
        InvokeStatus.ACCEPTED,
        "Workflow execution started successfully",
        execution_id=execution_id,
        execution_url=execution_url(execution_id),
        **resolved(prepared, trigger, request),
    )
    return result.body()


def ms_per_request(requests: int, repeats: int) -> float:
    types = {trigger_id: trigger_type for trigger_type, trigger_id in DEMO_TRIGGERS.items()}
    pairs = [(r, demo_trigger(types[r.trigger_id])) for r in mixed_requests("product", requests)]
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass fills the caches a running worker has warm
        started = time.process_time()
        for request, trigger in pairs:
            _accepted(request, trigger)
        best = min(best, time.process_time() - started)
    return best / len(pairs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args()
    print(f"{ms_per_request(args.requests, args.repeats):.4f} ms CPU per request, in-process")


if __name__ == "__main__":
    main()
