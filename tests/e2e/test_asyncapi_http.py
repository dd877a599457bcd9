"""The shim serves the message interface: the AsyncAPI document for its own namespace, and a
page of it for people (offline, no script)."""

from __future__ import annotations

import httpx
import pytest

from contracts.asyncapi import asyncapi_document
from tests.helpers import Service

pytestmark = pytest.mark.e2e


async def test_the_document_and_its_page_name_this_instance(
    http: httpx.AsyncClient, service: Service
) -> None:
    topology = service.settings.topology
    document = await http.get("/asyncapi.json")
    assert document.status_code == 200
    assert document.json() == asyncapi_document(topology)
    page = await http.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert topology.invoke_exchange in page.text and "<script" not in page.text
