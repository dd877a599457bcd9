"""Workflow definitions as files (`manual-trigger apply FILE`): validate, then upsert.

Teams keep their triggers in version control; applying the same file twice changes nothing.
Members listed in the file replace the workflow's members; triggers are created or updated
(never deleted: their executions refer to them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import asyncpg
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.kinds import KINDS
from contracts.models import Identifier, TriggerType, UserId
from contracts.specs import Trigger
from worker import store

DEMO_FILE = Path(__file__).parent / "demo.yaml"

RoleName = Literal["viewer", "operator", "editor", "owner"]


class TriggerDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    type: TriggerType
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    manual_invocation: bool = True

    @field_validator("type", mode="before")
    @classmethod
    def _registered(cls, value: Any) -> Any:
        """Only registered types are written: the registry (`contracts.registry`) is the one
        list of them (the database no longer repeats it)."""
        if isinstance(value, str) and value not in TriggerType.__members__:
            registered = ", ".join(t.value for t in TriggerType)
            raise ValueError(
                f"unknown trigger type {value!r}; the registered types are {registered}"
            )
        return value


class RateLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_user_per_minute: int | None = Field(default=None, ge=1)
    per_workflow_per_minute: int | None = Field(default=None, ge=1)


class WorkflowDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    owner: UserId
    members: dict[UserId, RoleName] = Field(default_factory=dict)
    triggers: list[TriggerDefinition] = Field(default_factory=list)
    rate_limits: RateLimits = Field(default_factory=RateLimits)

    def model_post_init(self, _: Any) -> None:
        ids = [t.id for t in self.triggers]
        if len(ids) != len(set(ids)):
            raise ValueError(f"workflow {self.id}: duplicate trigger ids")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflows: list[WorkflowDefinition]


def load_catalog(path: Path) -> Catalog:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return Catalog.model_validate(data)


def demo_catalog() -> Catalog:
    """The demo workflow (`manual-trigger demo`): `demo.yaml`, with one trigger of every
    registered type it does not configure itself, `trig_<type>_1`, configured with the type's
    `example_config`."""
    catalog = load_catalog(DEMO_FILE)
    for workflow in catalog.workflows:
        present = {t.type for t in workflow.triggers}
        workflow.triggers += [
            TriggerDefinition(
                id=f"trig_{t.value.lower()}_1", type=t, config=dict(KINDS[t].example_config)
            )
            for t in TriggerType
            if t not in present
        ]
    return catalog


async def apply_catalog(pool: asyncpg.Pool, catalog: Catalog) -> None:
    """Upsert every workflow in one transaction: a file applies whole or not at all."""
    async with pool.acquire() as conn, conn.transaction():
        for workflow in catalog.workflows:
            await store.upsert_workflow(
                conn,
                workflow_id=workflow.id,
                name=workflow.name,
                owner=workflow.owner,
                members=dict(workflow.members),
                rate_limit_per_user=workflow.rate_limits.per_user_per_minute,
                rate_limit_per_workflow=workflow.rate_limits.per_workflow_per_minute,
                triggers=[
                    Trigger(
                        workflow_id=workflow.id,
                        id=t.id,
                        type=t.type,
                        config=t.config,
                        enabled=t.enabled,
                        manual_invocation=t.manual_invocation,
                    )
                    for t in workflow.triggers
                ],
            )
