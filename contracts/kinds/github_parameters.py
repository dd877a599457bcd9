"""GITHUB: the parameters of a simulated delivery, per event.

What applies to every event (the event type, repository, sender, payload edit) is at the top;
each event with a builder (`worker/resolvers/github_payloads.py`) has a branch of the fields
that builder reads, and any other event a branch of its `action`. A trigger's form shows only
the branches of the events it listens to (`contracts.kinds.github.GitHubKind`).
"""

from __future__ import annotations

from typing import Any

from contracts.specs import JSON_SCHEMA_DIALECT, branch, field

# Actions per GitHub event that has them; the first is the default.
GITHUB_ACTIONS: dict[str, list[str]] = {
    "pull_request": [
        "opened",
        "closed",
        "reopened",
        "synchronize",
        "edited",
        "ready_for_review",
        "converted_to_draft",
        "labeled",
        "unlabeled",
        "assigned",
        "unassigned",
        "review_requested",
        "review_request_removed",
        "locked",
        "unlocked",
        "auto_merge_enabled",
        "auto_merge_disabled",
        "enqueued",
        "dequeued",
        "milestoned",
        "demilestoned",
    ],
    "issues": [
        "opened",
        "closed",
        "reopened",
        "edited",
        "deleted",
        "labeled",
        "unlabeled",
        "assigned",
        "unassigned",
        "locked",
        "unlocked",
        "pinned",
        "unpinned",
        "transferred",
        "milestoned",
        "demilestoned",
        "typed",
        "untyped",
    ],
    "release": [
        "published",
        "created",
        "edited",
        "deleted",
        "prereleased",
        "released",
        "unpublished",
    ],
}
GITHUB_EVENTS_WITHOUT_ACTION = ["push", "workflow_dispatch", "ping"]
EVENT_NAME_PATTERN = "^[a-z_]+$"


def sha(title: str, description: str) -> dict[str, Any]:
    return field(
        title,
        description + " A short one (4 to 39 hex digits) is completed to the 40 digits GitHub "
        "sends, with a warning.",
        type="string",
        pattern="^[0-9a-f]{4,40}$",
    )


def action(event: str, what: str) -> dict[str, Any]:
    actions = GITHUB_ACTIONS[event]
    return field("Action", f"What happened to the {what}.", enum=actions, default=actions[0])


def markdown(title: str, description: str) -> dict[str, Any]:
    return field(title, description, type=["string", "null"], contentMediaType="text/markdown")


def files(title: str, description: str) -> dict[str, Any]:
    path = field("Path", "A file's path in the repository.", type="string")
    return field(title, description, type="array", items=path)


def labels(of: str) -> dict[str, Any]:
    name = field("Label", "A label's name.", type="string")
    return field("Labels", f"The names of the {of}'s labels.", type="array", items=name)


def event(name: str, title: str, description: str, /, **properties: Any) -> dict[str, Any]:
    """The branch of one event type."""
    then = field(title, description, properties=properties)
    return branch("event_type", {"const": name}, then)


COMMIT = field(
    "Commit",
    "One pushed commit; what is left out is derived from the request.",
    type="object",
    additionalProperties=False,
    properties={
        "id": sha("Commit SHA", "The commit's SHA."),
        "message": field(
            "Message", "The commit message.", type="string", contentMediaType="text/plain"
        ),
        "timestamp": field(
            "Timestamp",
            "When the commit was made (default: the time of the request).",
            type="string",
            format="iso-date-time",
        ),
        "author": field(
            "Author",
            "Who wrote the commit (default: the sender).",
            type="object",
            additionalProperties=False,
            properties={
                "name": field("Name", "The author's name.", type="string"),
                "email": field("Email", "The author's email address.", type="string"),
                "username": field("Username", "The author's GitHub login.", type="string"),
            },
        ),
        "added": files("Added files", "Paths the commit adds."),
        "removed": files("Removed files", "Paths the commit removes."),
        "modified": files("Modified files", "Paths the commit changes (default: README.md)."),
    },
)

PUSH = event(
    "push",
    "Push",
    "Commits pushed to a branch or tag.",
    ref=field("Ref", "The pushed Git ref, e.g. refs/heads/main.", type="string", maxLength=255),
    before=sha("Before SHA", "The commit the ref pointed at before the push."),
    after=sha("After SHA", "The commit after a push without commits (else the last one's)."),
    commits=field(
        "Commits",
        "The pushed commits, oldest first; the last is head_commit.",
        type="array",
        maxItems=20,
        items=COMMIT,
    ),
)
PULL_REQUEST = event(
    "pull_request",
    "Pull request",
    "Activity on a pull request: opened, closed, synchronized, labeled…",
    action=action("pull_request", "pull request"),
    number=field("Number", "The pull request's number.", type="integer", minimum=1),
    title=field("Title", "The pull request's title.", type="string", maxLength=256),
    body=markdown("Description", "The pull request's description, in Markdown."),
    labels=labels("pull request"),
    head_ref=field("Head branch", "The branch with the changes.", type="string"),
    base_ref=field("Base branch", "The branch to merge into.", type="string"),
    head_sha=sha("Head commit SHA", "The last commit of the head branch."),
    draft=field("Draft", "The pull request is a draft.", type="boolean"),
    merged=field("Merged", "With action closed: it was closed by merging.", type="boolean"),
)
ISSUES = event(
    "issues",
    "Issue",
    "Activity on an issue: opened, closed, labeled…",
    action=action("issues", "issue"),
    number=field("Number", "The issue's number.", type="integer", minimum=1),
    title=field("Title", "The issue's title.", type="string", maxLength=256),
    body=markdown("Description", "The issue's description, in Markdown."),
    labels=labels("issue"),
)
RELEASE = event(
    "release",
    "Release",
    "Activity on a release: published, created, edited…",
    action=action("release", "release"),
    tag_name=field("Tag", "The release's Git tag (default: v1.0.0).", type="string"),
    name=field("Name", "The release's title (default: its tag).", type="string"),
    body=markdown("Release notes", "The release's notes, in Markdown."),
    draft=field("Draft", "The release is a draft (not yet published).", type="boolean"),
    prerelease=field("Pre-release", "The release is marked as a pre-release.", type="boolean"),
    target_commitish=field("Target", "The branch or SHA the tag is made from.", type="string"),
)
WORKFLOW_DISPATCH = event(
    "workflow_dispatch",
    "Workflow dispatch",
    "A GitHub Actions workflow run started by hand.",
    ref=field(
        "Ref",
        "The Git ref the workflow runs on, e.g. refs/heads/main.",
        type="string",
        maxLength=255,
    ),
    inputs=field("Inputs", "The workflow's inputs, by name.", type="object"),
    workflow=field("Workflow file", "Path of the workflow file.", type="string"),
)
PING = event("ping", "Ping", "The ping GitHub sends when a webhook is created: nothing to fill in.")
OTHER_EVENT = branch(
    "event_type",
    {"not": {"enum": [*GITHUB_ACTIONS, *GITHUB_EVENTS_WITHOUT_ACTION]}},
    field(
        "Other event",
        "Any other event: the envelope every event carries, its action, and your payload.",
        properties={
            "action": field(
                "Action",
                "The event's action, if it has one (deployment_status: created, …).",
                type="string",
                pattern=EVENT_NAME_PATTERN,
            )
        },
    ),
)

GITHUB_PARAMETERS: dict[str, Any] = {
    "$schema": JSON_SCHEMA_DIALECT,
    "type": "object",
    "unevaluatedProperties": False,
    "properties": {
        "event_type": field(
            "Event type",
            "The X-GitHub-Event header: one of the events the trigger listens to "
            "(default: its first).",
            type="string",
            pattern=EVENT_NAME_PATTERN,
        ),
        "repository": field(
            "Repository",
            "owner/name; must be the trigger's repository if given.",
            type="string",
        ),
        "sender": field(
            "Sender",
            "GitHub login of the user who caused the event.",
            type="string",
            pattern="^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
        ),
        "payload": field(
            "Payload edit",
            "Merged (deeply) over the generated payload: any field GitHub sends, and the "
            "whole payload of events without a dedicated builder.",
            type="object",
        ),
    },
    "allOf": [PUSH, PULL_REQUEST, ISSUES, RELEASE, WORKFLOW_DISPATCH, PING, OTHER_EVENT],
}
