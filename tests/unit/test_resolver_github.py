"""GITHUB: deliveries with GitHub's payload shapes and signatures GitHub's own code accepts."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import string
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.kinds import SPECS
from contracts.models import TriggerType
from tests.factories import demo_request, demo_trigger
from tests.unit.resolver_helpers import error_codes, error_paths, only
from worker.resolvers import InvalidInvocation, github, github_identity, prepare_invocation
from worker.resolvers.github_identity import REPOSITORY_STATE

GITHUB = TriggerType.GITHUB
SHA = re.compile(r"^[0-9a-f]{40}$")
SECRET = "demo-github-webhook-secret"
GITHUB_EXAMPLES = SPECS[TriggerType.GITHUB].parameter_examples


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
        # (The schema lists the trigger's events and each event's fields.)
        ({"event_type": "star"}, {}, "/parameters/event_type", "enum"),
        ({"event_type": "push", "action": "opened"}, {}, "/parameters/action", "unknown"),
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


# Identity fields are the trigger's (issue 17): every field naming the configured repository,
# its owner, organization, installation (and a ping's hook) is derived from the config, and an
# edit through `payload` that changes one is refused at the first differing leaf.

EVIL = "evil-org/evil-repo"
IDENTITY_INVOCATION = "identity-fields"


def refused(parameters: dict[str, Any], **config: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters, **config)
    return [(e.path, e.code) for e in exc.value.errors]


@pytest.mark.parametrize(
    ("event", "override", "path", "code"),
    [
        # the reproducers
        ("push", {"repository": {"clone_url": f"https://github.com/{EVIL}.git"}},
         "repository/clone_url", "identity_field"),
        ("push", {"repository": {"html_url": f"https://github.com/{EVIL}"}},
         "repository/html_url", "identity_field"),
        ("push", {"repository": {"url": f"https://github.com/{EVIL}"}},
         "repository/url", "identity_field"),
        ("issues", {"repository": {"url": f"https://api.github.com/repos/{EVIL}"}},
         "repository/url", "identity_field"),
        ("pull_request", {"pull_request": {"base": {"repo": {"full_name": EVIL}}}},
         "pull_request/base/repo/full_name", "identity_field"),
        ("push", {"repository": {"owner": {"login": "evil-org"}}},
         "repository/owner/login", "filter_mismatch"),
        ("push", {"repository": {"owner": {"id": 1}}}, "repository/owner/id", "identity_field"),
        ("issues", {"repository": {"owner": {"node_id": "MDQ6VXNlcjE="}}},
         "repository/owner/node_id", "identity_field"),
        ("push", {"repository": {"node_id": "MDEwOlJlcG9zaXRvcnkx"}},
         "repository/node_id", "identity_field"),
        ("push", {"installation": {"node_id": "x"}}, "installation/node_id", "identity_field"),
        ("release", {"repository": {"ssh_url": f"git@github.com:{EVIL}.git"}},
         "repository/ssh_url", "identity_field"),
        ("issues", {"repository": {"owner": {"html_url": "https://github.com/evil-org"}}},
         "repository/owner/html_url", "identity_field"),
        ("issues", {"issue": {"repository_url": f"https://api.github.com/repos/{EVIL}"}},
         "issue/repository_url", "identity_field"),
        # the other subtrees of a pull request's base
        ("pull_request", {"pull_request": {"base": {"repo": {"node_id": "x"}}}},
         "pull_request/base/repo/node_id", "identity_field"),
        ("pull_request", {"pull_request": {"base": {"user": {"login": "evil-org"}}}},
         "pull_request/base/user/login", "identity_field"),
        ("pull_request", {"pull_request": {"base": {"label": "evil-org:main"}}},
         "pull_request/base/label", "identity_field"),
        # a ping describes the trigger's own hook
        ("ping", {"hook": {"url": f"https://api.github.com/repos/{EVIL}/hooks/1"}},
         "hook/url", "identity_field"),
        ("ping", {"hook_id": 1}, "hook_id", "identity_field"),
        # other spellings: keys added, values removed or nulled, another JSON type
        ("push", {"repository": {"parent": {"full_name": EVIL}}},
         "repository/parent", "identity_field"),
        ("push", {"enterprise": {"slug": "evil"}}, "enterprise", "identity_field"),
        ("push", {"organization": {"login": "evil-org"}}, "organization", "identity_field"),
        ("issues", {"repository": {"owner": None}}, "repository/owner/login", "filter_mismatch"),
        ("issues", {"repository": "myorg/myrepo"}, "repository/full_name", "filter_mismatch"),
        ("push", {"installation": None}, "installation/id", "filter_mismatch"),
        ("push", {"installation": {"id": "4242"}}, "installation/id", "filter_mismatch"),
        ("issues", {"repository": {"owner": {"site_admin": 0}}},
         "repository/owner/site_admin", "identity_field"),
        ("release", {"repository": {"full_name": "MyOrg/MyRepo"}},
         "repository/full_name", "filter_mismatch"),
    ],
)  # fmt: skip
def test_an_edit_of_an_identity_field_is_refused_at_its_path(
    event: str, override: dict[str, Any], path: str, code: str
) -> None:
    assert refused({"event_type": event, "payload": override}) == [
        (f"/parameters/payload/{path}", code)
    ]


def test_the_refusal_says_the_identity_is_the_configured_repositorys() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"payload": {"repository": {"clone_url": f"https://github.com/{EVIL}.git"}}})
    message = only(exc.value.errors).message
    assert "derived from its configured repository myorg/myrepo" in message
    assert EVIL in message and "https://github.com/myorg/myrepo.git" in message


def test_an_id_spelled_as_another_json_type_is_refused() -> None:
    repository = resolve({"event_type": "issues"})["payload"]["repository"]
    edit = {"repository": {"id": repository["id"] + 0.0}}
    assert refused({"event_type": "issues", "payload": edit}) == [
        ("/parameters/payload/repository/id", "filter_mismatch")
    ]


@pytest.mark.parametrize("event", ["push", "issues", "release", "workflow_dispatch", "ping"])
def test_an_organization_is_the_owners_in_every_event_and_cannot_be_edited(event: str) -> None:
    payload = resolve({"event_type": event}, owner_type="Organization")["payload"]
    assert payload["organization"]["login"] == "myorg"
    assert payload["organization"]["id"] == payload["repository"]["owner"]["id"]
    assert refused(
        {"event_type": event, "payload": {"organization": {"login": "evil-org"}}},
        owner_type="Organization",
    ) == [("/parameters/payload/organization/login", "identity_field")]
    assert refused(
        {"event_type": event, "payload": {"organization": None}}, owner_type="Organization"
    ) == [("/parameters/payload/organization/login", "identity_field")]
    assert "organization" not in resolve({"event_type": event})["payload"]


def test_several_identity_edits_are_one_error_per_subtree() -> None:
    errors = refused(
        {
            "event_type": "pull_request",
            "payload": {
                "repository": {"owner": {"id": 1}, "clone_url": "x"},
                "installation": {"id": 1},
                "pull_request": {"base": {"repo": {"url": "x"}}},
            },
        }
    )
    assert errors == [
        ("/parameters/payload/repository/owner/id", "identity_field"),
        ("/parameters/payload/installation/id", "filter_mismatch"),
        ("/parameters/payload/pull_request/base/repo/url", "identity_field"),
    ]


def test_state_attributes_of_the_repository_may_be_edited() -> None:
    edit = {"archived": True, "topics": ["deploy"], "default_branch": "trunk", "language": "Go"}
    data = resolve({"event_type": "pull_request", "payload": {"repository": edit}})
    assert {k: data["payload"]["repository"][k] for k in edit} == edit
    assert data["payload"]["repository"]["full_name"] == "myorg/myrepo"
    assert verify_signature(
        data["raw_body"].encode(), SECRET, data["headers"]["X-Hub-Signature-256"]
    )


def test_edits_that_leave_identity_fields_as_they_are_pass() -> None:
    generated = resolve({"event_type": "push"})["payload"]
    repository = generated["repository"]
    same = {
        "repository": {key: repository[key] for key in ("full_name", "id", "owner", "clone_url")},
        "installation": generated["installation"],
    }
    data = resolve({"event_type": "push", "payload": same})
    assert data["payload"]["repository"] == repository


def test_the_head_of_a_pull_request_may_be_a_fork() -> None:
    fork = {
        "label": "contributor:fix",
        "ref": "fix",
        "user": {"login": "contributor", "id": 77, "node_id": "MDQ6VXNlcjc3"},
        "repo": {
            "full_name": "contributor/myrepo",
            "id": 78,
            "node_id": "MDEwOlJlcG9zaXRvcnk3OA==",
            "fork": True,
            "clone_url": "https://github.com/contributor/myrepo.git",
            "owner": {"login": "contributor", "id": 77, "node_id": "MDQ6VXNlcjc3"},
        },
    }
    data = resolve({"event_type": "pull_request", "payload": {"pull_request": {"head": fork}}})
    pr, repository = data["payload"]["pull_request"], data["payload"]["repository"]
    assert pr["head"]["repo"]["full_name"] == "contributor/myrepo"
    assert pr["head"]["repo"]["clone_url"] == "https://github.com/contributor/myrepo.git"
    assert pr["base"]["repo"] == repository and repository["full_name"] == "myorg/myrepo"
    deleted = resolve(
        {"event_type": "pull_request", "payload": {"pull_request": {"head": {"repo": None}}}}
    )
    assert deleted["payload"]["pull_request"]["head"]["repo"] is None  # a deleted fork


@pytest.mark.parametrize(
    ("head", "path"),
    [
        # the trigger's repository (by name, id or node id) with another address
        ({"repo": {"clone_url": f"https://github.com/{EVIL}.git"}}, "repo/clone_url"),
        ({"repo": {"full_name": EVIL}}, "repo/full_name"),  # its id is still the trigger's
        ({"repo": {"full_name": EVIL, "id": 1}}, "repo/full_name"),  # and so is its node id
        ({"repo": {"id": 1, "node_id": "x", "html_url": "https://github.com/x"}}, "repo/id"),
        # the trigger's owner, changed
        ({"user": {"html_url": "https://github.com/evil-org"}}, "user/html_url"),
        ({"user": {"login": "MYORG", "id": 1}}, "user/login"),
        ({"repo": {"full_name": "f/r", "id": 1, "node_id": "x", "owner": {"id": 5}}},
         "repo/owner/id"),
    ],
)  # fmt: skip
def test_a_head_that_names_the_trigger_is_the_triggers_exactly(
    head: dict[str, Any], path: str
) -> None:
    errors = refused({"event_type": "pull_request", "payload": {"pull_request": {"head": head}}})
    assert errors == [(f"/parameters/payload/pull_request/head/{path}", "identity_field")]


@pytest.mark.parametrize(
    "event",
    ["push", "pull_request", "issues", "release", "workflow_dispatch", "ping", "deployment"],
)
def test_identity_headers_agree_with_the_payload(event: str) -> None:
    data = resolve({"event_type": event}, event_types=["*"])
    headers, payload = data["headers"], data["payload"]
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == str(payload["repository"]["id"])
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "repository"
    assert data["repository"]["full_name"] == payload["repository"]["full_name"]
    assert data["installation_id"] == payload["installation"]["id"]
    if event == "ping":
        assert headers["X-GitHub-Hook-ID"] == str(payload["hook_id"]) == str(data["hook_id"])


def test_a_header_that_disagrees_with_the_payload_is_refused() -> None:
    data = resolve({"event_type": "ping"})
    headers, payload = data["headers"], data["payload"]
    assert github_identity.header_errors(headers, payload) == []
    other = {**payload, "repository": {**payload["repository"], "id": 1}, "hook_id": 2}
    assert [e.path for e in github_identity.header_errors(headers, other)] == [
        "/parameters/payload/repository/id",
        "/parameters/payload/hook_id",
    ]


# A property: whatever edit reaches the protected subtrees, the emitted delivery's subtrees
# are the generated ones, or the invocation is refused with paths.

BUILT_EVENTS = ["push", "pull_request", "issues", "release", "workflow_dispatch", "ping"]
PROTECTED: dict[str, list[tuple[str, ...]]] = {
    "*": [("repository",), ("organization",), ("installation",), ("enterprise",)],
    "pull_request": [
        ("pull_request", "base", "repo"),
        ("pull_request", "base", "user"),
        ("pull_request", "head", "repo"),
        ("pull_request", "head", "user"),
    ],
    "issues": [("issue", "repository_url")],
    "ping": [("hook",), ("hook_id",)],
}
OTHER_REPOSITORIES = [
    EVIL,
    "evil-org",
    "MyOrg/MyRepo",
    "myorg/myrepo",
    f"https://github.com/{EVIL}",
    f"https://github.com/{EVIL}.git",
    f"https://api.github.com/repos/{EVIL}",
    f"git@github.com:{EVIL}.git",
    "MDEwOlJlcG9zaXRvcnkx",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(OTHER_REPOSITORIES),
    st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=12),
)
KEYS = st.sampled_from(["login", "id", "full_name", "node_id", "x"])
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(KEYS, SCALARS, max_size=3)
)


def _at_path(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return "<absent>"
        document = document[key]
    return document


def _identity(path: tuple[str, ...], document: Any) -> str:
    if (path[-1] == "repo" or path == ("repository",)) and isinstance(document, dict):
        document = {k: v for k, v in document.items() if k not in REPOSITORY_STATE}
    return json.dumps(document, sort_keys=True)


def _names_the_trigger(given: Any, generated: Any) -> bool:
    if not isinstance(given, dict):
        return False
    name = "full_name" if "full_name" in generated else "login"
    given_name = given.get(name)
    return (isinstance(given_name, str) and given_name.lower() == generated[name].lower()) or any(
        json.dumps(given.get(k)) == json.dumps(generated[k]) for k in ("id", "node_id")
    )


def _nested(path: list[str], value: Any) -> dict[str, Any]:
    edit: dict[str, Any] = {path[-1]: value}
    for key in reversed(path[:-1]):
        edit = {key: edit}
    return edit


@st.composite
def identity_edits(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    event = draw(st.sampled_from(BUILT_EVENTS))
    owner_type = draw(st.sampled_from(["User", "Organization"]))
    generated = generated_payload(event, owner_type)
    edit: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        roots = PROTECTED["*"] + PROTECTED.get(event, [])
        path = list(draw(st.sampled_from(roots)))
        node = _at_path(generated, tuple(path))
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.one_of(st.sampled_from(sorted(node)), st.sampled_from(["extra", "url"])))
            path.append(key)
            node = node.get(key, "<absent>")
        value = draw(
            st.one_of(
                VALUES,
                st.just(node),  # the value it has: no change at all
                st.just(float(node) if type(node) is int else node),
            )
        )
        edit = github.deep_merge(edit, _nested(path, value))
    return event, owner_type, edit


def _resolve_fixed(event: str, owner_type: str, edit: Any = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"event_type": event}
    if edit is not None:
        parameters["payload"] = edit
    request = demo_request(GITHUB, parameters=parameters, invocation_id=IDENTITY_INVOCATION)
    trigger = demo_trigger(GITHUB, owner_type=owner_type)
    return prepare_invocation(request, trigger).event.trigger_data


def generated_payload(event: str, owner_type: str) -> dict[str, Any]:
    payload: dict[str, Any] = _resolve_fixed(event, owner_type)["payload"]
    return payload


@given(identity_edits())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_edit_changes_the_identity_of_an_emitted_delivery(
    case: tuple[str, str, dict[str, Any]],
) -> None:
    event, owner_type, edit = case
    generated = generated_payload(event, owner_type)
    try:
        data = _resolve_fixed(event, owner_type, edit)
    except InvalidInvocation as exc:
        assert exc.errors
        assert all(e.path.startswith("/parameters") for e in exc.errors)
        return
    emitted = data["payload"]
    for path in PROTECTED["*"] + PROTECTED.get(event, []):
        mine, given = _at_path(generated, path), _at_path(emitted, path)
        if path[1:2] == ("head",) and not _names_the_trigger(given, mine):
            continue  # a fork: another repository or user, not the trigger's
        assert _identity(path, given) == _identity(path, mine), path
    if event == "pull_request":
        assert emitted["pull_request"]["base"]["label"].startswith("myorg:")
    assert data["headers"]["X-GitHub-Hook-Installation-Target-ID"] == str(
        emitted["repository"]["id"]
    )
    assert verify_signature(
        data["raw_body"].encode(), SECRET, data["headers"]["X-Hub-Signature-256"]
    )


TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ", min_size=1, max_size=30)
FREE_EDITS = {
    "push": st.one_of(
        st.builds(lambda m: {"head_commit": {"message": m}}, TEXT),
        st.builds(lambda ms: {"commits": [{"message": m} for m in ms]}, st.lists(TEXT, max_size=3)),
        st.builds(lambda r: {"ref": f"refs/heads/{r.replace(' ', '-')}"}, TEXT),
    ),
    "pull_request": st.one_of(
        st.builds(lambda t: {"pull_request": {"title": t, "body": t}}, TEXT),
        st.builds(lambda r: {"pull_request": {"base": {"ref": r}, "head": {"ref": r}}}, TEXT),
    ),
    "issues": st.builds(lambda t: {"issue": {"title": t, "labels": []}}, TEXT),
    "release": st.builds(lambda t: {"release": {"name": t, "prerelease": True}}, TEXT),
    "workflow_dispatch": st.builds(lambda t: {"inputs": {"env": t}}, TEXT),
    "ping": st.builds(lambda t: {"zen": t}, TEXT),
}


@given(
    st.sampled_from(BUILT_EVENTS).flatmap(
        lambda event: st.tuples(
            st.just(event),
            FREE_EDITS[event],
            st.dictionaries(st.sampled_from(["x_note", "custom"]), TEXT, max_size=1),
        )
    )
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_edits_outside_the_identity_subtrees_still_pass(
    case: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    event, edit, extra = case
    edit = {**edit, **extra}
    generated = generated_payload(event, "User")
    emitted = _resolve_fixed(event, "User", edit)["payload"]
    assert emitted == github.deep_merge(generated, edit)
    for path in PROTECTED["*"] + PROTECTED.get(event, []):
        assert _at_path(emitted, path) == _at_path(generated, path)


@pytest.mark.parametrize("event", BUILT_EVENTS)
def test_a_delivery_without_payload_edits_would_pass_the_identity_checks(event: str) -> None:
    """Why a delivery with no `payload` edit skips them: the built payload passes against
    itself (the checks compare what goes out with what was built)."""
    for example in [{"event_type": event}, *(e.parameters for e in GITHUB_EXAMPLES)]:
        if example["event_type"] != event:
            continue
        payload = resolve(example)["payload"]
        repository = demo_trigger(GITHUB).config["repository"]
        merged = github.deep_merge(payload, {})
        assert github_identity.payload_edit_errors(repository, payload, merged, event) == []
