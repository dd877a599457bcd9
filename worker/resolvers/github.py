"""GITHUB: a webhook delivery from GitHub, signed as GitHub signs it.

The body is the compact JSON GitHub sends; with a trigger `secret`, `X-Hub-Signature-256`
is `sha256=` + the HMAC-SHA256 of those exact bytes (and `X-Hub-Signature` the legacy
SHA-1), so GitHub's documented verification code accepts the simulated delivery.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urljoin

from contracts.ids import dashed, derived_hex
from contracts.kinds.base import event_types
from contracts.kinds.github import (
    GITHUB_ACTIONS,
    GITHUB_EVENTS_WITHOUT_ACTION,
    SHA1_SIGNATURE_HEADER,
    SHA256_SIGNATURE_HEADER,
    GitHubKind,
)
from contracts.models import FieldError, InvokeRequest
from worker.resolvers import github_payloads as gh
from worker.resolvers.base import (
    InvalidInvocation,
    Resolution,
    compact_json,
    derived_int,
    derived_uuid_hex,
    unsubscribed,
)
from worker.resolvers.github_identity import header_errors, payload_edit_errors
from worker.resolvers.github_objects import Delivery
from worker.resolvers.github_recorded import recorded_parameters
from worker.resolvers.signing import hmac_hex, signed_headers

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


def _delivery(config: dict[str, Any], p: dict[str, Any], request: InvokeRequest) -> Delivery:
    return Delivery(
        full_name=config["repository"],
        sender_login=p["sender"],
        at=request.requested_at,
        seed=request.invocation_id,
        default_branch=config.get("default_branch", "main"),
        private=config.get("private", False),
        installation_id=config.get("installation_id"),
        owner_type=config.get("owner_type", "User"),
    )


def _payload(
    config: dict[str, Any], p: dict[str, Any], delivery: Delivery, hook_id: int
) -> dict[str, Any]:
    """The event's payload as built, with the `payload` edit merged over it (and checked)."""
    event = p["event_type"]
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
    edits = p.get("payload", {})
    if edits == {}:
        return payload  # nothing merged over it: what goes out is what was built
    edited = deep_merge(payload, edits)
    if errors := payload_edit_errors(config["repository"], payload, edited, event):
        raise InvalidInvocation(errors)
    result: dict[str, Any] = edited
    return result


def _headers(
    config: dict[str, Any],
    event: str,
    *,
    delivery_id: str,
    hook_id: int,
    repo_id: int,
    payload: dict[str, Any],
    raw_body: str,
) -> dict[str, str]:
    """The delivery's headers as GitHub sends them, signed with the trigger's secret."""
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": f"GitHub-Hookshot/{HOOKSHOT_VERSION}",
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Event": event,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(repo_id),
        "X-GitHub-Hook-Installation-Target-Type": "repository",
    }
    if errors := header_errors(headers, payload):
        raise InvalidInvocation(errors)
    signatures = {}
    if secret := config.get("secret"):
        signatures[SHA1_SIGNATURE_HEADER] = "sha1=" + hmac_hex(secret, raw_body, hashlib.sha1)
        signatures[SHA256_SIGNATURE_HEADER] = "sha256=" + hmac_hex(secret, raw_body)
    return signed_headers(headers, raw_body, signatures)


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
        delivery = _delivery(config, p, request)
        hook_id = config.get("hook_id") or derived_int(f"hook:{config['repository']}", 10**8, 10**9)
        payload = _payload(config, p, delivery, hook_id)
        raw_body = compact_json(payload)
        delivery_id = dashed(derived_uuid_hex(request, "github-delivery"))
        headers = _headers(
            config,
            event,
            delivery_id=delivery_id,
            hook_id=hook_id,
            repo_id=delivery.repo_id,
            payload=payload,
            raw_body=raw_body,
        )
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

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The event, its action and sender, its dedicated fields, the rest as `payload`."""
        return recorded_parameters(self, trigger_data, config)


RESOLVER = GitHubResolver()
