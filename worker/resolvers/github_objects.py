"""The objects every GitHub payload shares, with the fields and nesting GitHub sends: users,
organizations, repositories (some eighty fields; in `push` events the repository's
`created_at`/`pushed_at` are Unix seconds, elsewhere ISO 8601 strings), and the `Delivery`
that one simulated delivery's payload is built from.

Every id, SHA and time derives from the repository, the users and the request, so the same
request always yields the same objects.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from contracts.ids import derived_hex
from worker.resolvers.base import derived_int

API = "https://api.github.com"
WEB = "https://github.com"


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


# What a repository object says it has: GitHub's defaults for a new repository.
FEATURES = {
    "has_issues": True,
    "has_projects": True,
    "has_downloads": True,
    "has_wiki": True,
    "has_pages": False,
    "has_discussions": False,
}


@lru_cache(maxsize=1024)  # a repository's, delivery after delivery; only ever spread (**)
def _api_urls(api: str) -> dict[str, str]:
    """A repository object's API URLs and URL templates, in GitHub's order."""
    return {
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
    }


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
            **_api_urls(api),
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
            **FEATURES,
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
