"""GitHub webhook payloads with the fields and nesting of GitHub's documented deliveries.

Pure builders: every id, SHA and time derives from the repository, the users and the
request, so the same request always yields the same payload. Shapes follow GitHub's
"Webhook events and payloads" (repository objects of some eighty fields; in `push` events
the repository's `created_at`/`pushed_at` are Unix seconds, elsewhere ISO 8601 strings).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.ids import derived_hex
from worker.resolvers.base import derived_int

API = "https://api.github.com"
WEB = "https://github.com"
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


def node_id(kind: str, number: int) -> str:
    """GitHub's (legacy) global node id: base64 of `<len(kind)>:<kind><id>`."""
    return base64.b64encode(f"{len(kind):03d}:{kind}{number}".encode()).decode()


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, whole seconds, `Z`."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def github_id(seed: str) -> int:
    return derived_int(f"github-id:{seed}", 1_000_000, 200_000_000)


def user(login: str, *, kind: str = "User") -> dict[str, Any]:
    number = github_id(f"user:{login}")
    base = f"{API}/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": node_id(kind, number),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{number}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def noreply_email(login: str) -> str:
    return f"{github_id(f'user:{login}')}+{login}@users.noreply.github.com"


@dataclass(frozen=True)
class Delivery:
    """What every payload of one simulated delivery shares."""

    full_name: str
    sender_login: str
    at: datetime
    seed: str  # the invocation id: per-delivery values derive from it
    default_branch: str = "main"
    private: bool = False
    installation_id: int | None = None
    owner_type: str = "User"

    @property
    def owner_login(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def repo_name(self) -> str:
        return self.full_name.split("/")[1]

    @property
    def repo_id(self) -> int:
        return github_id(f"repo:{self.full_name.lower()}")

    @property
    def repo_api(self) -> str:
        return f"{API}/repos/{self.full_name}"

    @property
    def repo_web(self) -> str:
        return f"{WEB}/{self.full_name}"

    def sha(self, purpose: str) -> str:
        return derived_hex(f"{self.seed}:sha:{purpose}", 40)

    def number(self, purpose: str, low: int = 1, high: int = 2_000_000_000) -> int:
        return derived_int(f"{self.seed}:{purpose}", low, high)

    @property
    def created(self) -> datetime:
        # A repository's creation time is a property of the repository, not of the delivery.
        days = derived_int(f"created:{self.full_name.lower()}", 365, 3650)
        return (self.at - timedelta(days=days)).replace(microsecond=0)

    def sender(self) -> dict[str, Any]:
        return user(self.sender_login)

    def envelope(self) -> dict[str, Any]:
        """`repository`, `organization` (for a repository an organization owns, as GitHub
        sends it in every event), `sender` and (for GitHub Apps) `installation`, in GitHub's
        order."""
        fields: dict[str, Any] = {"repository": self.repository()}
        if self.owner_type == "Organization":
            fields["organization"] = organization(self.owner_login)
        fields["sender"] = self.sender()
        if self.installation_id is not None:
            fields["installation"] = {
                "id": self.installation_id,
                "node_id": node_id("IntegrationInstallation", self.installation_id),
            }
        return fields

    def repository(self, *, for_push: bool = False) -> dict[str, Any]:
        api, web = self.repo_api, self.repo_web
        owner = user(self.owner_login, kind=self.owner_type)
        if for_push:
            owner = {"name": self.owner_login, "email": noreply_email(self.owner_login), **owner}
        created, updated, pushed = self.created, self.at - timedelta(hours=2), self.at
        stars = derived_int(f"stars:{self.full_name.lower()}", 0, 500)
        open_issues = derived_int(f"issues:{self.full_name.lower()}", 0, 40)
        forks = derived_int(f"forks:{self.full_name.lower()}", 0, 60)
        repo: dict[str, Any] = {
            "id": self.repo_id,
            "node_id": node_id("Repository", self.repo_id),
            "name": self.repo_name,
            "full_name": self.full_name,
            "private": self.private,
            "owner": owner,
            "html_url": web,
            "description": None,
            "fork": False,
            # a quirk of push payloads: `url` is the web address there, the API one elsewhere
            "url": web if for_push else api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
            # push payloads carry Unix seconds here; every other event ISO 8601 strings
            "created_at": int(created.timestamp()) if for_push else iso(created),
            "updated_at": iso(updated),
            "pushed_at": int(pushed.timestamp()) if for_push else iso(pushed),
            "git_url": f"git://github.com/{self.full_name}.git",
            "ssh_url": f"git@github.com:{self.full_name}.git",
            "clone_url": f"{web}.git",
            "svn_url": web,
            "homepage": None,
            "size": derived_int(f"size:{self.full_name.lower()}", 10, 50_000),
            "stargazers_count": stars,
            "watchers_count": stars,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": forks,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if self.private else "public",
            "forks": forks,
            "open_issues": open_issues,
            "watchers": stars,
            "default_branch": self.default_branch,
            "custom_properties": {},
        }
        if for_push:
            repo["stargazers"] = stars
            repo["master_branch"] = self.default_branch
        return repo


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

    def branch(ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{delivery.owner_login}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": user(delivery.owner_login, kind=delivery.owner_type),
            "repo": repo,
        }

    def link(href: str) -> dict[str, str]:  # GitHub's `_links` entries
        return {"href": href}

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
        "head": branch(p.get("head_ref", "feature/manual-trigger"), head_sha),
        "base": branch(p.get("base_ref", delivery.default_branch), delivery.sha("base")),
        "_links": {
            "self": link(f"{api}/pulls/{number}"),
            "html": link(f"{web}/pull/{number}"),
            "issue": link(f"{api}/issues/{number}"),
            "comments": link(f"{api}/issues/{number}/comments"),
            "review_comments": link(f"{api}/pulls/{number}/comments"),
            "review_comment": link(f"{api}/pulls/comments{{/number}}"),
            "commits": link(f"{api}/pulls/{number}/commits"),
            "statuses": link(f"{api}/statuses/{head_sha}"),
        },
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
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
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


def organization(login: str) -> dict[str, Any]:
    number = github_id(f"user:{login}")
    base = f"{API}/orgs/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": node_id("Organization", number),
        "url": base,
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events",
        "hooks_url": f"{base}/hooks",
        "issues_url": f"{base}/issues",
        "members_url": f"{base}/members{{/member}}",
        "public_members_url": f"{base}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{number}?v=4",
        "description": None,
    }


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
