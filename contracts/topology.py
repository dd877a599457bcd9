"""Every exchange, queue, routing key and Redis key name, derived from one namespace.

Nothing else in the code spells a broker or cache name out: it asks a `Topology`.
"""

from __future__ import annotations

from dataclasses import dataclass

INVOKE_ROUTING_KEY = "invoke"
# The scheduler consumes every trigger event, whatever its type, workflow or trigger.
ALL_TRIGGER_EVENTS = "#"
# The scheduler applies every execution update, whatever its status.
ALL_EXECUTION_UPDATES = "#"
# RabbitMQ's pseudo-queue for RPC replies (direct reply-to): no reply queue to declare.
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


def trigger_event_routing_key(trigger_type: str, workflow_id: str, trigger_id: str) -> str:
    """`<type>.<workflow>.<trigger>`: lets a consumer bind to one type, workflow or trigger.
    (`trigger_type` is a `TriggerType`, a string enum: this module imports no model, so the
    models may import it.)"""
    return f"{trigger_type.lower()}.{workflow_id}.{trigger_id}"


def execution_update_routing_key(status: str) -> str:
    """An execution update's routing key: its status (`running`, `succeeded`, ...), so that a
    consumer may bind to final statuses only. (`status` is an `ExecutionStatus`, a string enum.)"""
    return str(status)


def dead_letter_exchange(queue: str) -> str:
    return f"{queue}.dlx"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


@dataclass(frozen=True)
class Topology:
    """Names for one isolated instance; the namespace keeps tests and tenants apart."""

    namespace: str = ""
    # The trigger events exchange belongs to the platform: when named, it is used verbatim.
    platform_trigger_exchange: str | None = None

    def _name(self, base: str) -> str:
        return f"{self.namespace}.{base}" if self.namespace else base

    @property
    def trigger_exchange(self) -> str:
        return self.platform_trigger_exchange or self._name("triggers.events")

    @property
    def scheduler_queue(self) -> str:
        return self._name("scheduler.trigger-events")

    @property
    def invoke_exchange(self) -> str:
        return self._name("manual-trigger.invoke")

    @property
    def invoke_queue(self) -> str:
        return self._name("manual-trigger.invoke")

    @property
    def updates_exchange(self) -> str:
        """Where workflow engines report executions (contracts/executions.py); topic, routing
        key = the status."""
        return self._name("executions.updates")

    @property
    def updates_queue(self) -> str:
        """The scheduler's queue of execution updates, bound to every status."""
        return self._name("scheduler.execution-updates")

    @property
    def progress_queue(self) -> str:
        """Where every process publishes its progress probes (worker/amqp/connection.py): a
        quorum queue that keeps only the newest one, and that nobody consumes."""
        return self._name("progress")

    @property
    def consumer_queues(self) -> tuple[str, ...]:
        """The queues that have a delivery limit and a dead-letter queue of their own."""
        return (self.invoke_queue, self.scheduler_queue, self.updates_queue)

    @property
    def exchanges(self) -> tuple[str, ...]:
        """Every exchange `manual-trigger topology` declares."""
        dead = tuple(dead_letter_exchange(queue) for queue in self.consumer_queues)
        return (self.trigger_exchange, self.invoke_exchange, self.updates_exchange, *dead)

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue `manual-trigger topology` declares."""
        dead = tuple(dead_letter_queue(q) for q in self.consumer_queues)
        return (*self.consumer_queues, *dead, self.progress_queue)

    def redis_key(self, *parts: str) -> str:
        return ":".join([self.namespace or "default", "mti", *parts])
