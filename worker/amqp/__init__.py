"""RabbitMQ plumbing: connection, topology declaration, confirmed publishing, consuming.

Delivery guarantees live here: events are published persistent, mandatory and
publisher-confirmed; a consumer acks only after its handler succeeded, and a transient
failure goes back to its quorum queue after a backoff counted from the broker's own
delivery count, so the queue's delivery limit ends a poison message in its dead-letter queue.
"""

from __future__ import annotations

from worker.amqp.connection import (
    RECONNECT_SECONDS,
    Broker,
    ClosedUnderneath,
    as_broker_failure,
    broker_user,
    close_soon,
    confirmed_channel,
    connect,
    is_blocked,
    live_connection,
    node_urls,
    url_user,
)
from worker.amqp.consuming import (
    MAX_BACKOFF_DOUBLINGS,
    BatchHandler,
    Handler,
    ack,
    beside,
    consume_until,
    delivery_count,
    one_by_one,
    reject,
    retry_later,
)
from worker.amqp.declare import QUORUM_REPLICAS, declare_topology, delete_topology
from worker.amqp.publish import JSON, json_message, json_properties, publish_events
from worker.amqp.replies import (
    RECONNECT_POLL_SECONDS,
    REPLY_ATTEMPTS,
    REPLY_RECONNECT_WAIT_SECONDS,
    ReplyPublisher,
)

__all__ = [
    "JSON",
    "MAX_BACKOFF_DOUBLINGS",
    "QUORUM_REPLICAS",
    "RECONNECT_POLL_SECONDS",
    "RECONNECT_SECONDS",
    "REPLY_ATTEMPTS",
    "REPLY_RECONNECT_WAIT_SECONDS",
    "BatchHandler",
    "Broker",
    "ClosedUnderneath",
    "Handler",
    "ReplyPublisher",
    "ack",
    "as_broker_failure",
    "beside",
    "broker_user",
    "close_soon",
    "confirmed_channel",
    "connect",
    "consume_until",
    "declare_topology",
    "delete_topology",
    "delivery_count",
    "is_blocked",
    "json_message",
    "json_properties",
    "live_connection",
    "node_urls",
    "one_by_one",
    "publish_events",
    "reject",
    "retry_later",
    "url_user",
]
