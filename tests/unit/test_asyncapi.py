"""The AsyncAPI document of the message interface: valid for the official parser, and naming
exactly what the code declares and publishes to."""

from __future__ import annotations

import subprocess
from pathlib import Path

from contracts.asyncapi import asyncapi_document
from contracts.export import ASYNCAPI_PATH
from contracts.models import InvokeStatus
from contracts.topology import DIRECT_REPLY_TO, INVOKE_ROUTING_KEY, Topology

UI = Path(__file__).resolve().parents[2] / "ui"


def test_the_official_parser_finds_no_error() -> None:
    done = subprocess.run(
        ["node", "scripts/validate-asyncapi.mjs", str(ASYNCAPI_PATH)],
        cwd=UI,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "valid: Manual Trigger Invocation" in done.stdout


def amqp_names(document: dict) -> tuple[set[str], set[str]]:
    """(exchanges, queues) the document's channel bindings name."""
    exchanges, queues = set(), set()
    for channel in document["channels"].values():
        binding = channel["bindings"]["amqp"]
        if binding["is"] == "routingKey":
            exchanges.add(binding["exchange"]["name"])
        else:
            queues.add(binding["queue"]["name"])
    return exchanges, queues


def test_its_names_are_the_topology_s_for_any_namespace() -> None:
    for topology in (Topology(), Topology(namespace="tenant-a")):
        document = asyncapi_document(topology)
        exchanges, queues = amqp_names(document)
        assert exchanges == {
            topology.invoke_exchange,
            topology.trigger_exchange,
            topology.updates_exchange,
        }
        # The progress probes' queue is the processes' own business: no one else uses it.
        dead = set(topology.queues) - {*topology.consumer_queues, topology.progress_queue}
        assert queues == {DIRECT_REPLY_TO, *dead}
        assert document["channels"]["invoke"]["address"] == INVOKE_ROUTING_KEY


def test_every_answer_status_is_documented() -> None:
    described = asyncapi_document()["components"]["messages"]["InvokeResult"]["description"]
    assert all(f"`{status.value}`" in described for status in InvokeStatus)
