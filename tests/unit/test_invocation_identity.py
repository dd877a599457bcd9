"""A keyed invocation's identity covers what it asks for: the same key with another request is
another invocation, whatever Redis still holds (issue: an idempotency key never lies)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts.ids import manual_event_id
from contracts.models import InvokeRequest
from tests.factories import FIXED_TIME

# Storable text (no NUL, no control characters, no lone surrogates: the model refuses them).
TEXT = st.characters(min_codepoint=0x20, max_codepoint=0x2FF)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(TEXT, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
REQUESTS = st.fixed_dictionaries(
    {
        "workflow_id": st.sampled_from(["wf_demo", "wf_other"]),
        "trigger_id": st.sampled_from(["trig_manual_1", "trig_webhook_1"]),
        "parameters": st.dictionaries(st.text(max_size=5), JSON, max_size=3),
        "description": st.none() | st.text(TEXT, max_size=10),
        "dry_run": st.booleans(),
    }
)


def keyed(key: str, user: str = "demo-user", **fields: Any) -> InvokeRequest:
    return InvokeRequest.identified(
        user_id=user, requested_at=FIXED_TIME, idempotency_key=key, **fields
    )


@given(key=st.text(TEXT, min_size=1, max_size=20), first=REQUESTS, second=REQUESTS)
def test_one_key_makes_one_invocation_per_request(
    key: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    a, b = keyed(key, **first), keyed(key, **second)
    # A retry of the same request is the same invocation (so the same event, recorded once)
    assert keyed(key, **first).invocation_id == a.invocation_id
    # Another request under the same key is another invocation, with an event of its own
    same = a.fingerprint() == b.fingerprint()
    assert (a.invocation_id == b.invocation_id) == same
    assert (manual_event_id(a.invocation_id) == manual_event_id(b.invocation_id)) == same


def test_what_the_fingerprint_covers() -> None:
    base = {"workflow_id": "wf_demo", "trigger_id": "trig_manual_1", "parameters": {"a": 1}}
    first = keyed("k", **base)
    # Not when or how it was sent: a retry minutes later is the same request
    later = InvokeRequest.identified(
        user_id="demo-user",
        requested_at=FIXED_TIME.replace(year=2030),
        idempotency_key="k",
        source="cli",
        **base,
    )
    assert later.invocation_id == first.invocation_id
    # Another user's same key is another invocation; an unkeyed request is always new
    assert keyed("k", user="someone-else", **base).invocation_id != first.invocation_id
    fresh = [InvokeRequest.identified(user_id="u", requested_at=FIXED_TIME, **base) for _ in "ab"]
    assert fresh[0].invocation_id != fresh[1].invocation_id
