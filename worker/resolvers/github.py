"""GITHUB: a webhook delivery from GitHub, signed as GitHub signs it.

The body is the compact JSON GitHub sends; with a trigger `secret`, `X-Hub-Signature-256`
is `sha256=` + the HMAC-SHA256 of those exact bytes (and `X-Hub-Signature` the legacy
SHA-1), so GitHub's documented verification code accepts the simulated delivery.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urljoin

from contracts.ids import derived_hex
from contracts.models import FieldError, InvokeRequest
from contracts.regex import linear
from contracts.specs import GITHUB_ACTIONS, GITHUB_EVENTS_WITHOUT_ACTION, GITHUB_SPEC
from contracts.triggers import GitHubKind, event_types
from contracts.validation import pointer
from worker.resolvers import github_payloads as gh
from worker.resolvers.base import (
    MISSING,
    InvalidInvocation,
    Resolution,
    compact_json,
    derived_int,
    derived_uuid,
    hmac_sha256_hex,
    same_json,
    unsubscribed,
    value_at,
)

BUILDERS = {
    "push": gh.push,
    "pull_request": gh.pull_request,
    "issues": gh.issues,
    "release": gh.release,
    "workflow_dispatch": gh.workflow_dispatch,
}
# The Hookshot build GitHub's deliveries name in their User-Agent (a short commit hash).
HOOKSHOT_VERSION = "044aadd"


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: deep_merge(base.get(k), v) for k, v in override.items()}}
    return override


def _check(config: dict[str, Any], p: dict[str, Any], event: str) -> list[FieldError]:
    errors = unsubscribed(event_types(config, "push"), event)
    action = p.get("action")
    if event in GITHUB_EVENTS_WITHOUT_ACTION and action is not None:
        errors.append(
            FieldError(
                path="/parameters/action",
                code="no_action",
                message=f"{event} events have no action",
            )
        )
    elif event in GITHUB_ACTIONS and action not in GITHUB_ACTIONS[event]:
        errors.append(
            FieldError(
                path="/parameters/action",
                code="enum",
                message=f"{event} actions are {GITHUB_ACTIONS[event]}, not {action!r}",
            )
        )
    repository = p.get("repository")
    if repository is not None and repository.lower() != config["repository"].lower():
        errors.append(
            FieldError(
                path="/parameters/repository",
                code="repository_mismatch",
                message=f"the trigger's repository filter passes {config['repository']}, "
                f"not {repository}",
            )
        )
    return errors


_LOGIN = linear(GITHUB_SPEC.parameter_schema["properties"]["sender"]["pattern"])

# The trigger's identity in a delivery. Everything in these subtrees is derived from the
# configured repository (its owner, its organization, the GitHub App installation), so a
# `payload` edit that changes any of it (a value changed, a key added, one removed or nulled)
# is refused: the emitted delivery is compared with the generated one, whatever spelling the
# edit took. The envelope is compared in every delivery (absent stays absent: `organization` of
# a User's repository, `installation` without an `installation_id`, `enterprise` always) ...
_ENVELOPE: list[tuple[str, ...]] = [
    ("repository",),
    ("organization",),
    ("installation",),
    ("enterprise",),
]
# ... and these wherever the generated delivery has them: the base of a pull request is the
# trigger's repository and its owner (its label is `owner:ref`, see below), an issue's
# `repository_url` is the repository's address, and a ping describes the trigger's own hook.
_GENERATED: list[tuple[str, ...]] = [
    ("pull_request", "base", "repo"),
    ("pull_request", "base", "user"),
    ("issue", "repository_url"),
    ("hook_id",),
    ("hook",),
]
# A repository object's attributes that say what state it is in, not which repository it is:
# these may be edited (a simulated archived, private or renamed-default-branch repository).
# Its ids, names, owner and every URL are its identity; so is any key GitHub does not send.
REPOSITORY_STATE = frozenset(
    {
        "description",
        "homepage",
        "language",
        "topics",
        "private",
        "visibility",
        "fork",
        "archived",
        "disabled",
        "is_template",
        "allow_forking",
        "web_commit_signoff_required",
        "has_issues",
        "has_projects",
        "has_downloads",
        "has_wiki",
        "has_pages",
        "has_discussions",
        "size",
        "stargazers_count",
        "watchers_count",
        "stargazers",
        "watchers",
        "forks_count",
        "forks",
        "open_issues_count",
        "open_issues",
        "created_at",
        "updated_at",
        "pushed_at",
        "default_branch",
        "master_branch",
        "custom_properties",
    }
)
_REPOSITORY_SHAPED = {
    ("repository",),
    ("pull_request", "base", "repo"),
    ("pull_request", "head", "repo"),
}
# The fields the trigger's own filter reads (its repository and installation): an edit there
# would make a delivery the trigger does not receive.
_FILTERED = {
    ("repository", "full_name"),
    ("repository", "name"),
    ("repository", "owner", "login"),
    ("repository", "id"),
    ("installation", "id"),
}
# Where a difference is reported first: the names and ids before the rest of an object.
_FIRST = ("full_name", "name", "login", "owner", "id", "node_id")


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _keys(document: dict[str, Any]) -> list[str]:
    return sorted(document, key=lambda k: _FIRST.index(k) if k in _FIRST else len(_FIRST))


def _first_difference(
    generated: Any, emitted: Any, path: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], Any, Any] | None:
    """The first leaf where `emitted` differs from `generated`: its path and both values
    (`MISSING` for a leaf one of them lacks). Walks only what was generated, so its cost is
    bounded by the generated delivery, not by the edit."""
    if isinstance(generated, dict) and generated and not isinstance(emitted, dict):
        key = _keys(generated)[0]  # removed, nulled or replaced: report its first leaf
        return _first_difference(generated[key], MISSING, (*path, key))
    if isinstance(generated, dict) and isinstance(emitted, dict):
        for key in _keys(generated):
            found = _first_difference(generated[key], emitted.get(key, MISSING), (*path, key))
            if found:
                return found
        added = next((key for key in emitted if key not in generated), None)
        return None if added is None else ((*path, added), MISSING, emitted[added])
    if isinstance(generated, list) and isinstance(emitted, list):
        for index in range(max(len(generated), len(emitted))):
            found = _first_difference(
                generated[index] if index < len(generated) else MISSING,
                emitted[index] if index < len(emitted) else MISSING,
                (*path, index),
            )
            if found:
                return found
        return None
    return None if same_json(generated, emitted) else (path, generated, emitted)


def _identity_view(path: tuple[str, ...], document: Any) -> Any:
    if path in _REPOSITORY_SHAPED and isinstance(document, dict):
        return {k: v for k, v in document.items() if k not in REPOSITORY_STATE}
    return document


def _shown(value: Any) -> str:
    if value is MISSING:
        return "absent"
    text = compact_json(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _identity_error(
    full_name: str, path: tuple[str | int, ...], generated: Any, emitted: Any
) -> FieldError:
    dotted = ".".join(map(str, path))
    if generated is MISSING:
        what = f"{dotted} cannot be added"
    elif emitted is MISSING:
        what = (
            f"{dotted} cannot be removed or nulled (the trigger's delivery has {_shown(generated)})"
        )
    else:
        what = f"the trigger's delivery has {dotted} = {_shown(generated)}, not {_shown(emitted)}"
    return FieldError(
        path="/parameters/payload" + pointer(path),
        code="filter_mismatch" if path in _FILTERED else "identity_field",
        message=f"{what}: the trigger's identity (its repository, owner, organization, "
        f"installation and hook) is derived from its configured repository {full_name}",
    )


def _names(document: Any, generated: Any, name: str) -> bool:
    """Whether a repository or user object names the same one as `generated` does (by its
    name, compared as GitHub does, case-insensitively, or by its id or node id)."""
    if not isinstance(document, dict) or not isinstance(generated, dict):
        return False
    given, own = document.get(name), generated.get(name)
    return (
        (isinstance(given, str) and isinstance(own, str) and given.lower() == own.lower())
        or same_json(document.get("id"), generated.get("id"))
        or same_json(document.get("node_id"), generated.get("node_id"))
    )


def identity_errors(full_name: str, generated: Any, emitted: Any) -> list[FieldError]:
    """The output contract: the emitted delivery's identity subtrees are the generated ones.
    One error per subtree that differs, at its first differing leaf."""
    errors = []
    subtrees = _ENVELOPE + [path for path in _GENERATED if value_at(generated, path) is not MISSING]
    for path in subtrees:
        found = _first_difference(
            _identity_view(path, value_at(generated, path)),
            _identity_view(path, value_at(emitted, path)),
            path,
        )
        if found:
            errors.append(_identity_error(full_name, *found))
    owner = value_at(generated, ("repository", "owner", "login"))
    label_path = ("pull_request", "base", "label")
    label = value_at(emitted, label_path)
    if value_at(generated, label_path) is not MISSING and not (
        isinstance(label, str) and isinstance(owner, str) and label.startswith(f"{owner}:")
    ):
        errors.append(
            _identity_error(full_name, label_path, value_at(generated, label_path), label)
        )
    # The head of a pull request may be a fork: another repository, another user (or null, a
    # deleted fork). But a repository or user there that names the trigger's repository or its
    # owner (by name, id or node id) is the trigger's, exactly as generated.
    repo = ("pull_request", "head", "repo")
    for path, name in (
        (repo, "full_name"),
        (("pull_request", "head", "user"), "login"),
        ((*repo, "owner"), "login"),
    ):
        mine, given = value_at(generated, path), value_at(emitted, path)
        if path == (*repo, "owner") and _names(
            value_at(emitted, repo), value_at(generated, repo), name
        ):
            continue  # compared with the repository it belongs to
        if mine is not MISSING and _names(given, mine, name):
            found = _first_difference(_identity_view(path, mine), _identity_view(path, given), path)
            if found:
                errors.append(_identity_error(full_name, *found))
    return errors


def _header_errors(headers: dict[str, str], payload: dict[str, Any]) -> list[FieldError]:
    """The headers that carry identity agree with the payload they travel with."""
    errors = []
    checks = [
        ("X-GitHub-Hook-Installation-Target-ID", ("repository", "id")),
        ("X-GitHub-Hook-ID", ("hook_id",)),
    ]
    for header, path in checks:
        value = value_at(payload, path)
        if path == ("hook_id",) and value is MISSING:
            continue
        if type(value) is not int or headers[header] != str(value):
            errors.append(
                FieldError(
                    path="/parameters/payload" + pointer(path),
                    code="identity_field",
                    message=f"the delivery's {header} header is {headers[header]}; its "
                    f"{'.'.join(path)} must say the same",
                )
            )
    return errors


def _payload_edit_errors(
    full_name: str, generated: dict[str, Any], edited: Any, event: str
) -> list[FieldError]:
    """Edits through `payload` obey the rules the named parameters obey, and leave the
    trigger's identity as it is."""
    if not isinstance(edited, dict):
        return [FieldError(path="/parameters/payload", code="type", message="must be an object")]
    errors = identity_errors(full_name, generated, edited)
    action = edited.get("action")
    if action != generated.get("action") and (
        event in GITHUB_EVENTS_WITHOUT_ACTION or action not in GITHUB_ACTIONS.get(event, [action])
    ):
        errors.append(
            FieldError(
                path="/parameters/payload/action",
                code="enum",
                message=f"{action!r} is not an action of {event} events",
            )
        )
    login = _at(edited, ("sender", "login"))
    if login != _at(generated, ("sender", "login")) and not (
        isinstance(login, str) and _LOGIN.fullmatch(login)
    ):
        errors.append(
            FieldError(
                path="/parameters/payload/sender/login",
                code="pattern",
                message=f"{login!r} is not a GitHub login",
            )
        )
    return errors


# GitHub's webhook URLs are absolute; a relative `webhook_url` in the config is read against
# this reserved (RFC 2606) host, so every URL in a payload is absolute as GitHub's are.
WEBHOOK_BASE = "https://webhooks.example.com/"
_SHA_FIELDS = ("before", "after", "head_sha")


def _complete_shas(p: dict[str, Any], seed: str) -> list[str]:
    """GitHub sends full 40-digit SHAs; a short one given (`abc123`) is completed the same
    way every time, keeping its digits as the prefix, and a warning says so."""
    warnings = []

    def complete(value: str, where: str) -> str:
        if len(value) == 40:
            return value
        full = value + derived_hex(f"{seed}:{where}:{value}", 40 - len(value))
        warnings.append(f"{where}: short commit id {value!r} completed to {full}")
        return full

    for name in _SHA_FIELDS:
        if isinstance(p.get(name), str):
            p[name] = complete(p[name], name)
    if isinstance(p.get("commits"), list):
        p["commits"] = [
            {**c, "id": complete(c["id"], f"commits/{i}/id")} if isinstance(c.get("id"), str) else c
            for i, c in enumerate(p["commits"])
        ]
    return warnings


class GitHubResolver(GitHubKind):
    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        p = dict(parameters)
        warnings = _complete_shas(p, request.invocation_id)
        event = p["event_type"]
        if event in GITHUB_ACTIONS:
            p.setdefault("action", GITHUB_ACTIONS[event][0])
        if errors := _check(config, p, event):
            raise InvalidInvocation(errors)
        delivery = gh.Delivery(
            full_name=config["repository"],
            sender_login=p["sender"],
            at=request.requested_at,
            seed=request.invocation_id,
            default_branch=config.get("default_branch", "main"),
            private=config.get("private", False),
            installation_id=config.get("installation_id"),
            owner_type=config.get("owner_type", "User"),
        )
        hook_id = config.get("hook_id") or derived_int(f"hook:{config['repository']}", 10**8, 10**9)
        if event == "ping":
            payload = gh.ping(
                delivery,
                p,
                hook_id=hook_id,
                events=event_types(config, "push"),
                webhook_url=urljoin(WEBHOOK_BASE, config.get("webhook_url", f"/github/{hook_id}")),
            )
        else:
            payload = BUILDERS.get(event, gh.generic)(delivery, p)
        edited = deep_merge(payload, p.get("payload", {}))
        if errors := _payload_edit_errors(config["repository"], payload, edited, event):
            raise InvalidInvocation(errors)
        payload = edited
        raw_body = compact_json(payload)
        delivery_id = str(derived_uuid(request, "github-delivery"))
        headers = {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": f"GitHub-Hookshot/{HOOKSHOT_VERSION}",
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Event": event,
            "X-GitHub-Hook-ID": str(hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(delivery.repo_id),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "Content-Length": str(len(raw_body.encode())),
        }
        if errors := _header_errors(headers, payload):
            raise InvalidInvocation(errors)
        if secret := config.get("secret"):
            sha1 = hmac.new(secret.encode(), raw_body.encode(), hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = f"sha1={sha1}"
            headers["X-Hub-Signature-256"] = "sha256=" + hmac_sha256_hex(secret, raw_body)
        trigger_data = {
            "event_type": event,
            "action": payload.get("action"),
            "delivery_id": delivery_id,
            "hook_id": hook_id,
            "webhook_id": hook_id,  # as the design document names it
            "installation_id": config.get("installation_id"),
            "repository": {"full_name": config["repository"], "private": delivery.private},
            "sender": {"login": delivery.sender_login, "type": "User"},
            "headers": headers,
            "payload": payload,
            "raw_body": raw_body,
            "received_at": request.requested_at.isoformat(),
        }
        return Resolution(
            trigger_data=trigger_data,
            input_data=payload,
            metadata={
                "github_event": event,
                "installation_id": config.get("installation_id"),
                "trigger_config": self.shown_config(config),
            },
            warnings=warnings,
        )


RESOLVER = GitHubResolver()
