"""GITHUB: deliveries with GitHub's payload shapes and signatures GitHub's own code accepts."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from typing import Any

import pytest

from contracts.models import TriggerType
from tests.factories import demo_request, demo_trigger
from tests.unit.resolver_helpers import error_codes, error_paths
from worker.resolvers import InvalidInvocation, prepare_invocation

GITHUB = TriggerType.GITHUB
SHA = re.compile(r"^[0-9a-f]{40}$")
SECRET = "demo-github-webhook-secret"


def resolve(parameters: dict[str, Any], **config: Any) -> dict[str, Any]:
    request = demo_request(GITHUB, parameters=parameters)
    return prepare_invocation(request, demo_trigger(GITHUB, **config)).event.trigger_data


def verify_signature(payload_body: bytes, secret_token: str, signature_header: str) -> bool:
    """GitHub's documented verification ("Validating webhook deliveries"), in Python."""
    hash_object = hmac.new(secret_token.encode("utf-8"), msg=payload_body, digestmod=hashlib.sha256)
    expected_signature = "sha256=" + hash_object.hexdigest()
    return hmac.compare_digest(expected_signature, signature_header)


@pytest.mark.parametrize(
    "event", ["push", "pull_request", "issues", "release", "workflow_dispatch", "ping"]
)
def test_every_delivery_is_signed_over_the_exact_body_bytes(event: str) -> None:
    data = resolve({"event_type": event})
    body = data["raw_body"].encode("utf-8")
    assert verify_signature(body, SECRET, data["headers"]["X-Hub-Signature-256"])
    assert not verify_signature(body + b" ", SECRET, data["headers"]["X-Hub-Signature-256"])
    sha1 = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert data["headers"]["X-Hub-Signature"] == f"sha1={sha1}"
    assert json.loads(body) == data["payload"]
    assert data["headers"]["Content-Length"] == str(len(body))


def test_delivery_headers_look_like_githubs() -> None:
    headers = resolve({"event_type": "issues"})["headers"]
    assert headers["X-GitHub-Event"] == "issues"
    assert uuid.UUID(headers["X-GitHub-Delivery"])
    assert headers["X-GitHub-Hook-ID"].isdigit()
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "repository"
    assert re.fullmatch(r"GitHub-Hookshot/[0-9a-f]{7}", headers["User-Agent"])
    assert headers["Content-Type"] == "application/json"


def test_no_secret_no_signature_headers() -> None:
    headers = resolve({}, secret=None)["headers"]
    assert "X-Hub-Signature-256" not in headers
    assert "X-Hub-Signature" not in headers


def test_push_payload_has_githubs_fields_and_types() -> None:
    payload = resolve(
        {
            "event_type": "push",
            "commits": [
                {"message": "First", "added": ["a.txt"]},
                {
                    "message": "Fix critical bug",
                    "author": {"name": "Developer", "email": "dev@example.com"},
                },
            ],
        }
    )["payload"]
    assert list(payload)[:10] == [
        "ref",
        "before",
        "after",
        "created",
        "deleted",
        "forced",
        "base_ref",
        "compare",
        "commits",
        "head_commit",
    ]
    assert payload["ref"] == "refs/heads/main"
    assert SHA.match(payload["before"]) and SHA.match(payload["after"])
    assert payload["after"] == payload["head_commit"]["id"] == payload["commits"][-1]["id"]
    assert payload["head_commit"]["message"] == "Fix critical bug"
    assert payload["head_commit"]["author"]["email"] == "dev@example.com"
    assert all(SHA.match(c["id"]) and SHA.match(c["tree_id"]) for c in payload["commits"])
    repository = payload["repository"]
    assert len(repository) >= 80
    assert isinstance(repository["created_at"], int) and isinstance(repository["pushed_at"], int)
    assert repository["url"] == "https://github.com/myorg/myrepo"
    assert repository["full_name"] == "myorg/myrepo"
    assert {"name", "email", "login"} <= set(repository["owner"])
    assert payload["pusher"] == {"name": "myorg", "email": payload["pusher"]["email"]}
    assert payload["installation"]["id"] == 4242


def test_repository_object_elsewhere_has_iso_times_and_api_url() -> None:
    repository = resolve({"event_type": "issues"})["payload"]["repository"]
    assert len(repository) >= 78
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", repository["created_at"])
    assert repository["url"] == "https://api.github.com/repos/myorg/myrepo"
    for key in (
        "id",
        "node_id",
        "html_url",
        "default_branch",
        "visibility",
        "topics",
        "pulls_url",
        "hooks_url",
        "clone_url",
        "ssh_url",
        "license",
        "forks_count",
    ):
        assert key in repository


def test_pull_request_closed_by_merge() -> None:
    payload = resolve(
        {
            "event_type": "pull_request",
            "action": "closed",
            "merged": True,
            "number": 7,
            "title": "Ship it",
            "labels": ["bug"],
        }
    )["payload"]
    pr = payload["pull_request"]
    assert payload["action"] == "closed" and payload["number"] == 7
    assert pr["state"] == "closed" and pr["merged"] is True and pr["merged_at"]
    assert pr["title"] == "Ship it"
    assert pr["labels"][0]["name"] == "bug"
    assert SHA.match(pr["head"]["sha"]) and SHA.match(pr["base"]["sha"])
    assert pr["base"]["ref"] == "main"
    assert set(pr["_links"]) >= {"self", "html", "issue", "commits", "statuses"}


def test_ping_and_workflow_dispatch() -> None:
    ping = resolve({"event_type": "ping"})["payload"]
    assert ping["zen"] and ping["hook"]["type"] == "Repository"
    assert ping["hook_id"] == ping["hook"]["id"]
    dispatch = resolve(
        {
            "event_type": "workflow_dispatch",
            "inputs": {"env": "prod"},
            "workflow": ".github/workflows/deploy.yml",
        },
        owner_type="Organization",
    )
    assert dispatch["payload"]["inputs"] == {"env": "prod"}
    assert dispatch["payload"]["organization"]["login"] == "myorg"
    assert dispatch["action"] is None


def test_any_other_event_gets_a_generic_payload_with_overrides() -> None:
    data = resolve(
        {
            "event_type": "deployment_status",
            "action": "created",
            "payload": {"deployment_status": {"state": "success"}},
        },
        event_types=["*"],
    )
    assert data["payload"]["action"] == "created"
    assert data["payload"]["deployment_status"] == {"state": "success"}
    assert "repository" in data["payload"] and "sender" in data["payload"]


def test_payload_overrides_merge_deeply() -> None:
    payload = resolve({"event_type": "push", "payload": {"repository": {"private": True}}})[
        "payload"
    ]
    assert payload["repository"]["private"] is True
    assert payload["repository"]["full_name"] == "myorg/myrepo"


@pytest.mark.parametrize(
    ("parameters", "config", "path", "code"),
    [
        ({"event_type": "star"}, {}, "/parameters/event_type", "event_not_subscribed"),
        ({"event_type": "push", "action": "opened"}, {}, "/parameters/action", "no_action"),
        ({"event_type": "issues", "action": "exploded"}, {}, "/parameters/action", "enum"),
        ({"repository": "someone/else"}, {}, "/parameters/repository", "repository_mismatch"),
        ({"commits": [{"id": "not-a-sha"}]}, {}, "/parameters/commits/0/id", "pattern"),
        ({"before": "xyz"}, {}, "/parameters/before", "pattern"),
    ],
)
def test_bad_github_parameters_are_400_with_paths(
    parameters: dict[str, Any], config: dict[str, Any], path: str, code: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters, **config)
    assert error_paths(exc) == [path]
    assert error_codes(exc) == [code]


def test_trigger_config_needs_a_repository() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({}, repository="not a repo")
    assert error_paths(exc) == ["/trigger_config/repository"]


def test_secret_is_not_in_the_event() -> None:
    event = prepare_invocation(demo_request(GITHUB), demo_trigger(GITHUB)).event
    assert SECRET not in event.model_dump_json()
    assert event.metadata["trigger_config"]["secret"] == "***REDACTED***"


@pytest.mark.parametrize(
    ("override", "path"),
    [
        (
            {"repository": {"full_name": "evil-org/evil-repo"}},
            "/parameters/payload/repository/full_name",
        ),
        ({"repository": {"name": "other"}}, "/parameters/payload/repository/name"),
        (
            {"repository": {"owner": {"login": "evil-org"}}},
            "/parameters/payload/repository/owner/login",
        ),
        ({"repository": {"id": 1}}, "/parameters/payload/repository/id"),
        ({"repository": None}, "/parameters/payload/repository/full_name"),
        ({"installation": {"id": 999}}, "/parameters/payload/installation/id"),
        ({"action": "exploded"}, "/parameters/payload/action"),
        ({"sender": {"login": "not a login!"}}, "/parameters/payload/sender/login"),
    ],
)
def test_payload_edits_obey_the_rules_of_the_named_parameters(
    override: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"event_type": "pull_request", "payload": override})
    assert path in [e.path for e in exc.value.errors]


def test_payload_edits_within_the_rules_are_merged_and_signed() -> None:
    data = resolve(
        {
            "event_type": "pull_request",
            "payload": {
                "repository": {"full_name": "myorg/myrepo", "description": "edited"},
                "action": "closed",
                "sender": {"login": "octocat"},
                "pull_request": {"title": "Edited"},
            },
        }
    )
    assert data["payload"]["repository"]["description"] == "edited"
    assert data["payload"]["action"] == "closed"
    assert data["payload"]["pull_request"]["title"] == "Edited"
    assert verify_signature(
        data["raw_body"].encode(), SECRET, data["headers"]["X-Hub-Signature-256"]
    )


def test_a_short_commit_id_is_completed_as_github_would_send_it_with_a_warning() -> None:
    request = demo_request(
        GITHUB, parameters={"event_type": "push", "commits": [{"id": "abc123"}], "before": "0f1e"}
    )
    prepared = prepare_invocation(request, demo_trigger(GITHUB))
    payload = prepared.event.trigger_data["payload"]
    full = payload["commits"][0]["id"]
    assert SHA.match(full) and full.startswith("abc123")
    assert payload["head_commit"]["id"] == payload["after"] == full
    assert SHA.match(payload["before"]) and payload["before"].startswith("0f1e")
    assert any("commits/0/id" in w and full in w for w in prepared.warnings)
    again = prepare_invocation(request, demo_trigger(GITHUB)).event
    assert again.trigger_data["payload"]["commits"][0]["id"] == full  # pure: the same each time
