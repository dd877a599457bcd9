"""GITHUB: a webhook delivery from GitHub, signed as GitHub signs it.

The body is the compact JSON GitHub sends; with a trigger `secret`, `X-Hub-Signature-256`
is `sha256=` + the HMAC-SHA256 of those exact bytes (and `X-Hub-Signature` the legacy
SHA-1), so GitHub's documented verification code accepts the simulated delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any
from urllib.parse import urljoin

from contracts.ids import derived_hex
from contracts.models import FieldError, InvokeRequest
from contracts.specs import GITHUB_ACTIONS, GITHUB_EVENTS_WITHOUT_ACTION, GITHUB_SPEC
from contracts.triggers import GitHubKind, event_types
from contracts.validation import pointer
from worker.resolvers import github_payloads as gh
from worker.resolvers.base import (
    InvalidInvocation,
    Resolution,
    compact_json,
    derived_int,
    derived_uuid,
    hmac_sha256_hex,
    unsubscribed,
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


# Where a free-form `payload` edit may not take the delivery: what the trigger's own filter
# (its repository and installation) decides must stay as the trigger would receive it.
_GUARDED = [
    ("repository", "full_name"),
    ("repository", "name"),
    ("repository", "owner", "login"),
    ("repository", "id"),
    ("installation", "id"),
]
_LOGIN = re.compile(GITHUB_SPEC.parameter_schema["properties"]["sender"]["pattern"])


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _payload_edit_errors(generated: dict[str, Any], edited: Any, event: str) -> list[FieldError]:
    """Edits through `payload` obey the rules the named parameters obey."""
    if not isinstance(edited, dict):
        return [FieldError(path="/parameters/payload", code="type", message="must be an object")]
    errors = [
        FieldError(
            path="/parameters/payload" + pointer(path),
            code="filter_mismatch",
            message=f"the trigger receives {'.'.join(path)} = {_at(generated, path)!r}, "
            f"not {_at(edited, path)!r}",
        )
        for path in _GUARDED
        if _at(edited, path) != _at(generated, path)
    ]
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
        if errors := _payload_edit_errors(payload, edited, event):
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
