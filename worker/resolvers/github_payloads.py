"""GitHub webhook payloads with the fields and nesting of GitHub's documented deliveries.

Pure builders: every id, SHA and time derives from the repository, the users and the
request, so the same request always yields the same payload. Shapes follow GitHub's
"Webhook events and payloads" (repository objects of some eighty fields; in `push` events
the repository's `created_at`/`pushed_at` are Unix seconds, elsewhere ISO 8601 strings).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts.ids import derived_hex
from worker.resolvers.base import derived_int
from worker.resolvers.github_objects import (
    Delivery,
    github_id,
    iso,
    node_id,
    noreply_email,
    user,
)

NULL_SHA = "0" * 40
ZEN = [
    "Non-blocking is better than blocking.",
    "Design for failure.",
    "Half measures are as bad as nothing at all.",
    "Favor focus over features.",
    "Avoid administrative distraction.",
    "Mind your words, they are important.",
    "Speak like a human.",
    "Approachable is better than simple.",
    "Keep it logically awesome.",
    "Anything added dilutes everything else.",
    "Practicality beats purity.",
    "Encourage flow.",
    "Responsive is better than fast.",
    "It's not fully shipped until it's fast.",
]


def commit(delivery: Delivery, index: int, given: dict[str, Any]) -> dict[str, Any]:
    """A push `commits[]` entry; what the user gave wins over the defaults."""
    sha = given.get("id") or delivery.sha(f"commit:{index}")
    author = {
        "name": delivery.sender_login,
        "email": noreply_email(delivery.sender_login),
        "username": delivery.sender_login,
        **given.get("author", {}),
    }
    return {
        "id": sha,
        "tree_id": delivery.sha(f"tree:{index}"),
        "distinct": True,
        "message": given.get("message", "Manual trigger test commit"),
        "timestamp": given.get("timestamp", iso(delivery.at)),
        "url": f"{delivery.repo_web}/commit/{sha}",
        "author": author,
        "committer": given.get(
            "committer", {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"}
        ),
        "added": given.get("added", []),
        "removed": given.get("removed", []),
        "modified": given.get("modified", ["README.md"]),
    }


def push(delivery: Delivery, p: dict[str, Any]) -> dict[str, Any]:
    commits = [commit(delivery, i, c) for i, c in enumerate(p.get("commits") or [{}])]
    ref = p.get("ref", f"refs/heads/{delivery.default_branch}")
    before = p.get("before", delivery.sha("before"))
    after = commits[-1]["id"] if commits else p.get("after", delivery.sha("after"))
    pusher = {"name": delivery.sender_login, "email": noreply_email(delivery.sender_login)}
    envelope = delivery.envelope()
    # Key order as in GitHub's documented push payload.
    payload = {
        "ref": ref,
        "before": before,
        "after": after,
        "created": before == NULL_SHA,
        "deleted": after == NULL_SHA,
        "forced": False,
        "base_ref": None,
        "compare": f"{delivery.repo_web}/compare/{before[:12]}...{after[:12]}",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "repository": delivery.repository(for_push=True),
        "pusher": pusher,
    }
    if "organization" in envelope:
        payload["organization"] = envelope["organization"]
    payload["sender"] = envelope["sender"]
    if "installation" in envelope:
        payload["installation"] = envelope["installation"]
    return payload


def label(delivery: Delivery, name: str) -> dict[str, Any]:
    number = github_id(f"label:{delivery.full_name}:{name}")
    return {
        "id": number,
        "node_id": node_id("Label", number),
        "url": f"{delivery.repo_api}/labels/{name}",
        "name": name,
        "color": derived_hex(f"color:{name}", 6),
        "default": name in {"bug", "documentation", "enhancement", "question"},
        "description": None,
    }


def _closed_actions(action: str) -> bool:
    return action in {"closed", "deleted"}


# A simulated pull request's activity: one commit changing one line of one file.
PULL_REQUEST_COUNTS = {
    "comments": 0,
    "review_comments": 0,
    "maintainer_can_modify": False,
    "commits": 1,
    "additions": 1,
    "deletions": 0,
    "changed_files": 1,
}


def _branch(delivery: Delivery, repo: dict[str, Any], ref: str, sha: str) -> dict[str, Any]:
    """A pull request's `head` or `base`: a branch of the trigger's repository."""
    return {
        "label": f"{delivery.owner_login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user(delivery.owner_login, kind=delivery.owner_type),
        "repo": repo,
    }


def _pull_links(api: str, web: str, number: int, head_sha: str) -> dict[str, Any]:
    """A pull request's `_links`: each a `{"href": ...}`."""
    hrefs = {
        "self": f"{api}/pulls/{number}",
        "html": f"{web}/pull/{number}",
        "issue": f"{api}/issues/{number}",
        "comments": f"{api}/issues/{number}/comments",
        "review_comments": f"{api}/pulls/{number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{number}/commits",
        "statuses": f"{api}/statuses/{head_sha}",
    }
    return {name: {"href": href} for name, href in hrefs.items()}


def pull_request(delivery: Delivery, p: dict[str, Any]) -> dict[str, Any]:
    action = p["action"]
    number = p.get("number", delivery.number("pr-number", 1, 5000))
    pr_id = github_id(f"pr:{delivery.full_name}:{number}")
    api, web = delivery.repo_api, delivery.repo_web
    author = user(delivery.sender_login)
    merged = bool(p.get("merged", False)) and action == "closed"
    closed = _closed_actions(action)
    head_sha = p.get("head_sha", delivery.sha("head"))
    opened_at = delivery.at - timedelta(minutes=0 if action == "opened" else 90)
    repo = delivery.repository()
    pr = {
        "url": f"{api}/pulls/{number}",
        "id": pr_id,
        "node_id": node_id("PullRequest", pr_id),
        "html_url": f"{web}/pull/{number}",
        "diff_url": f"{web}/pull/{number}.diff",
        "patch_url": f"{web}/pull/{number}.patch",
        "issue_url": f"{api}/issues/{number}",
        "number": number,
        "state": "closed" if closed else "open",
        "locked": False,
        "title": p.get("title", "Manual trigger test pull request"),
        "user": author,
        "body": p.get("body"),
        "created_at": iso(opened_at),
        "updated_at": iso(delivery.at),
        "closed_at": iso(delivery.at) if closed else None,
        "merged_at": iso(delivery.at) if merged else None,
        "merge_commit_sha": delivery.sha("merge") if merged or action != "opened" else None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [label(delivery, name) for name in p.get("labels", [])],
        "milestone": None,
        "draft": bool(p.get("draft", False)),
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{head_sha}",
        "head": _branch(delivery, repo, p.get("head_ref", "feature/manual-trigger"), head_sha),
        "base": _branch(
            delivery, repo, p.get("base_ref", delivery.default_branch), delivery.sha("base")
        ),
        "_links": _pull_links(api, web, number, head_sha),
        "author_association": "OWNER"
        if delivery.sender_login == delivery.owner_login
        else "CONTRIBUTOR",
        "auto_merge": None,
        "active_lock_reason": None,
        "merged": merged,
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": author if merged else None,
        **PULL_REQUEST_COUNTS,
    }
    return {"action": action, "number": number, "pull_request": pr, **delivery.envelope()}


def issues(delivery: Delivery, p: dict[str, Any]) -> dict[str, Any]:
    action = p["action"]
    number = p.get("number", delivery.number("issue-number", 1, 5000))
    issue_id = github_id(f"issue:{delivery.full_name}:{number}")
    api, web = delivery.repo_api, delivery.repo_web
    url = f"{api}/issues/{number}"
    closed = _closed_actions(action)
    issue = {
        "url": url,
        "repository_url": api,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"{web}/issues/{number}",
        "id": issue_id,
        "node_id": node_id("Issue", issue_id),
        "number": number,
        "title": p.get("title", "Manual trigger test issue"),
        "user": user(delivery.sender_login),
        "labels": [label(delivery, name) for name in p.get("labels", [])],
        "state": "closed" if closed else "open",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "created_at": iso(delivery.at - timedelta(minutes=0 if action == "opened" else 90)),
        "updated_at": iso(delivery.at),
        "closed_at": iso(delivery.at) if closed else None,
        "author_association": "OWNER"
        if delivery.sender_login == delivery.owner_login
        else "CONTRIBUTOR",
        "active_lock_reason": None,
        "body": p.get("body"),
        "reactions": {
            "url": f"{url}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
        "state_reason": "completed" if closed else None,
    }
    return {"action": action, "issue": issue, **delivery.envelope()}


def release(delivery: Delivery, p: dict[str, Any]) -> dict[str, Any]:
    action = p["action"]
    tag = p.get("tag_name", "v1.0.0")
    release_id = github_id(f"release:{delivery.full_name}:{tag}")
    api, web = delivery.repo_api, delivery.repo_web
    draft = bool(p.get("draft", False))
    body = {
        "url": f"{api}/releases/{release_id}",
        "assets_url": f"{api}/releases/{release_id}/assets",
        "upload_url": f"https://uploads.github.com/repos/{delivery.full_name}/releases/"
        f"{release_id}/assets{{?name,label}}",
        "html_url": f"{web}/releases/tag/{tag}",
        "id": release_id,
        "author": user(delivery.sender_login),
        "node_id": node_id("Release", release_id),
        "tag_name": tag,
        "target_commitish": p.get("target_commitish", delivery.default_branch),
        "name": p.get("name", tag),
        "draft": draft,
        "immutable": False,
        "prerelease": bool(p.get("prerelease", False)),
        "created_at": iso(delivery.at - timedelta(minutes=5)),
        "updated_at": iso(delivery.at),
        "published_at": None if draft else iso(delivery.at),
        "assets": [],
        "tarball_url": f"{api}/tarball/{tag}",
        "zipball_url": f"{api}/zipball/{tag}",
        "body": p.get("body"),
    }
    return {"action": action, "release": body, **delivery.envelope()}


def workflow_dispatch(delivery: Delivery, p: dict[str, Any]) -> dict[str, Any]:
    envelope = delivery.envelope()
    payload: dict[str, Any] = {
        "inputs": p.get("inputs", {}),
        "ref": p.get("ref", f"refs/heads/{delivery.default_branch}"),
        "repository": envelope["repository"],
    }
    if "organization" in envelope:
        payload["organization"] = envelope["organization"]
    payload["sender"] = envelope["sender"]
    if "installation" in envelope:
        payload["installation"] = envelope["installation"]
    payload["workflow"] = p.get("workflow", ".github/workflows/main.yml")
    return payload


def ping(
    delivery: Delivery, p: dict[str, Any], *, hook_id: int, events: list[str], webhook_url: str
) -> dict[str, Any]:
    hook_url = f"{delivery.repo_api}/hooks/{hook_id}"
    created = iso(delivery.created)
    return {
        "zen": ZEN[derived_int(f"{delivery.seed}:zen", 0, len(ZEN))],
        "hook_id": hook_id,
        "hook": {
            "type": "Repository",
            "id": hook_id,
            "name": "web",
            "active": True,
            "events": events,
            "config": {"content_type": "json", "insecure_ssl": "0", "url": webhook_url},
            "updated_at": created,
            "created_at": created,
            "url": hook_url,
            "test_url": f"{hook_url}/test",
            "ping_url": f"{hook_url}/pings",
            "deliveries_url": f"{hook_url}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        },
        **delivery.envelope(),
    }


def generic(delivery: Delivery, p: dict[str, Any]) -> dict[str, Any]:
    """Any other event: its action (if given) and the envelope every event carries."""
    payload: dict[str, Any] = {"action": p["action"]} if p.get("action") else {}
    return {**payload, **delivery.envelope()}
