"""GITHUB: the output contract on a delivery's identity. The repository, owner, organization,
installation and hook a delivery names are derived from the trigger's configured repository;
a `payload` edit may change what a delivery says, never whose it is.
"""

from __future__ import annotations

from typing import Any

from contracts.kinds.github import GITHUB_ACTIONS, GITHUB_EVENTS_WITHOUT_ACTION, GITHUB_SPEC
from contracts.models import FieldError
from contracts.regex import linear
from contracts.validation import pointer
from worker.resolvers.base import MISSING, compact_json, same_json, value_at

_LOGIN = linear(GITHUB_SPEC.parameter_schema["properties"]["sender"]["pattern"])


def github_login(text: Any) -> bool:
    """Whether the text is a login GitHub gives a person (a bot's `name[bot]` is none)."""
    return isinstance(text, str) and _LOGIN.fullmatch(text) is not None


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


def header_errors(headers: dict[str, str], payload: dict[str, Any]) -> list[FieldError]:
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


def payload_edit_errors(
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
    if login != _at(generated, ("sender", "login")) and not github_login(login):
        errors.append(
            FieldError(
                path="/parameters/payload/sender/login",
                code="pattern",
                message=f"{login!r} is not a GitHub login",
            )
        )
    return errors


def strip_identity(full_name: str, payload: dict[str, Any]) -> None:
    """Take out of a recorded payload (in place) what the trigger's identity decides: the
    inverse of `identity_errors`. Merged over a delivery generated for the trigger, what is
    left changes what the delivery says, never whose it is. A repository object keeps its
    state attributes; the head of a pull request keeps a fork, but not the trigger's own
    repository or owner."""
    owner = full_name.split("/")[0].lower()
    head = ("pull_request", "head")
    repo, user = value_at(payload, (*head, "repo")), value_at(payload, (*head, "user"))
    removed = [*_ENVELOPE, *_GENERATED, ("pull_request", "base", "label")]
    if _named(repo, "full_name", full_name):
        removed.append((*head, "repo"))
    elif _named(value_at(repo, ("owner",)), "login", owner):
        removed.append((*head, "repo", "owner"))
    if _named(user, "login", owner):
        removed.append((*head, "user"))
    for path in removed:
        parent = value_at(payload, path[:-1])
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        value = parent.pop(path[-1])
        if path in _REPOSITORY_SHAPED and isinstance(value, dict):
            state = {k: v for k, v in value.items() if k in REPOSITORY_STATE}
            parent.update({path[-1]: state} if state else {})


def _named(document: Any, field: str, name: str) -> bool:
    """Whether an object names `name` in `field`, compared as GitHub does (ignoring case)."""
    given = document.get(field) if isinstance(document, dict) else None
    return isinstance(given, str) and given.lower() == name.lower()
