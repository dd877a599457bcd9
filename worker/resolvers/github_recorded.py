"""GITHUB: a recorded delivery read back into the parameters that deliver it again.

The event type and its action; the sender's login; each dedicated parameter a builder writes
verbatim into the payload, where the record holds a value the schema accepts; and the rest of
the payload, without what the trigger's identity decides (`strip_identity`), as the
`payload` edit that is merged over the generated delivery (without what the redaction hid).
"""

from __future__ import annotations

from typing import Any

from contracts.kinds.github import GITHUB_ACTIONS, GITHUB_EVENTS_WITHOUT_ACTION, GitHubKind
from contracts.validation import validate
from worker.resolvers.base import MISSING, same_json, value_at
from worker.resolvers.github_identity import github_login, strip_identity
from worker.resolvers.reproducing import dict_of, expressible, without_hidden

_PR = ("pull_request",)
# Per event, the parameters a builder writes verbatim into the payload, at these paths (one
# value at all of them). Moved out of `payload`, they can be edited as parameters; what the
# builder derives from them (a pull request's URLs, a push's compare link) stays as recorded.
DEDICATED: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "push": {"ref": [("ref",)], "before": [("before",)]},
    "pull_request": {
        "number": [("number",), (*_PR, "number")],
        "title": [(*_PR, "title")],
        "body": [(*_PR, "body")],
        "head_ref": [(*_PR, "head", "ref")],
        "base_ref": [(*_PR, "base", "ref")],
        "head_sha": [(*_PR, "head", "sha")],
        "draft": [(*_PR, "draft")],
    },
    "issues": {
        "number": [("issue", "number")],
        "title": [("issue", "title")],
        "body": [("issue", "body")],
    },
    "release": {
        name: [("release", name)]
        for name in ("tag_name", "name", "draft", "prerelease", "target_commitish", "body")
    },
    "workflow_dispatch": {"ref": [("ref",)], "inputs": [("inputs",)], "workflow": [("workflow",)]},
}


def recorded_parameters(
    kind: GitHubKind, trigger_data: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    event = trigger_data.get("event_type")
    repository = config.get("repository")
    edit: dict[str, Any] = without_hidden(dict_of(trigger_data.get("payload")))  # a copy: ours
    strip_identity(repository if isinstance(repository, str) else "", edit)
    parameters: dict[str, Any] = {"event_type": event}
    action = edit.pop("action", trigger_data.get("action"))
    if _is_action_of(event, action):
        parameters["action"] = action  # else the event's default: no edit may say otherwise
    login = value_at(edit, ("sender", "login"))
    if github_login(login):
        parameters["sender"] = login
    else:
        edit.pop("sender", None)  # a bot's: the trigger's owner sends it instead
    parameters |= _dedicated(kind, config, parameters, edit)
    if edit:
        parameters["payload"] = edit
    return expressible(kind, config, parameters)


def _is_action_of(event: Any, action: Any) -> bool:
    if not isinstance(event, str) or not isinstance(action, str):
        return False
    if event in GITHUB_EVENTS_WITHOUT_ACTION:
        return False
    return event not in GITHUB_ACTIONS or action in GITHUB_ACTIONS[event]


def _dedicated(
    kind: GitHubKind, config: dict[str, Any], parameters: dict[str, Any], edit: dict[str, Any]
) -> dict[str, Any]:
    """The dedicated parameters of the event found in `edit` (and valid), taken out of it."""
    found = {}
    for name, paths in DEDICATED.get(str(parameters["event_type"]), {}).items():
        value = value_at(edit, paths[0])
        if value is not MISSING and all(same_json(value, value_at(edit, p)) for p in paths):
            found[name] = value
    errors = validate(kind.parameter_schema(config), {**parameters, **found})
    refused = {error.path.split("/")[1] for error in errors if error.path.count("/")}
    moved = {name: value for name, value in found.items() if name not in refused}
    for name in moved:  # the others stay in `payload`, where any value goes
        for path in DEDICATED[parameters["event_type"]][name]:
            del value_at(edit, path[:-1])[path[-1]]
    return moved
