"""MANUAL: typed inputs declared by the trigger, like GitHub's `workflow_dispatch` inputs."""

from __future__ import annotations

from typing import Any

from contracts.kinds.manual import ManualKind
from contracts.models import InvokeRequest
from worker.resolvers.base import Resolution
from worker.resolvers.reproducing import dict_of, expressible


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

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The inputs the run had."""
        return expressible(self, config, dict_of(trigger_data.get("inputs")))


RESOLVER = ManualResolver()
