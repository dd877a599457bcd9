"""MANUAL: typed inputs declared by the trigger, like GitHub's `workflow_dispatch` inputs."""

from __future__ import annotations

from typing import Any

from contracts.kinds.manual import ManualKind
from contracts.models import InvokeRequest
from worker.resolvers.base import Resolution


class ManualResolver(ManualKind):
    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        return Resolution(
            trigger_data={
                "inputs": parameters,
                "triggered_by": request.user_id,
                "trigger_time": request.requested_at.isoformat(),
            },
            input_data=parameters,
        )


RESOLVER = ManualResolver()
