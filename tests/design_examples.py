"""The design document's own requests (§4.1.2 and §10), verbatim (`wf_123` as it writes it),
and the keys it puts in each type's event. One copy for every test that uses them."""

from __future__ import annotations

import json
from typing import Any

from contracts.models import TriggerType

# (method, path, body) exactly as the document writes them
REQUESTS: list[tuple[str, str, str | None]] = [
    # §4.1.2 Manual Trigger Invocation (its request, on the webhook trigger of §4.1.1)
    (
        "POST",
        "/api/v1/workflows/wf_123/triggers/trig_webhook_1/manual-invoke",
        """{
  "parameters": {
    "body": {
      "event_type": "deployment",
      "repository": "user/repo",
      "status": "success"
    },
    "headers": {
      "X-Custom-Header": "test-value"
    }
  },
  "description": "Testing deployment webhook"
}""",
    ),
    # §10.1 Developer Testing Scenario
    ("GET", "/api/v1/workflows/wf_123/triggers", None),
    ("GET", "/api/v1/workflows/wf_123/triggers/trig_webhook_1/manual-invoke/schema", None),
    (
        "POST",
        "/api/v1/workflows/wf_123/triggers/trig_webhook_1/manual-invoke",
        """{
    "parameters": {
      "body": {"test": true, "environment": "staging"},
      "headers": {"X-Source": "manual-test"}
    },
    "description": "Executing staging deployment workflow"
  }""",
    ),
    # §10.2 GitHub Event Simulation
    (
        "POST",
        "/api/v1/workflows/wf_123/triggers/trig_github_1/manual-invoke",
        """{
    "parameters": {
      "event_type": "push",
      "repository": "myorg/myrepo",
      "ref": "refs/heads/main",
      "commits": [
        {
          "id": "abc123",
          "message": "Fix critical bug",
          "author": {"name": "Developer", "email": "dev@example.com"}
        }
      ]
    },
    "description": "Testing CI/CD pipeline with push event"
  }""",
    ),
    # §10.3 Email Trigger Testing
    (
        "POST",
        "/api/v1/workflows/wf_123/triggers/trig_email_1/manual-invoke",
        """{
    "parameters": {
      "from": "customer@example.com",
      "subject": "Urgent Support Request",
      "body": "Please help with login issues",
      "attachments": ["support-screenshot.png"]
    },
    "description": "Testing customer support workflow"
  }""",
    ),
]


TYPES = {
    "trig_webhook_1": TriggerType.WEBHOOK,
    "trig_github_1": TriggerType.GITHUB,
    "trig_email_1": TriggerType.EMAIL,
}


def invocations() -> list[tuple[str, TriggerType, dict[str, Any]]]:
    """(path, trigger type, parameters) of each request that invokes a trigger."""
    found = []
    for method, path, body in REQUESTS:
        if method == "POST" and body is not None:
            trigger = path.split("/triggers/")[1].split("/")[0]
            found.append((path, TYPES[trigger], json.loads(body)["parameters"]))
    return found


# trigger_data keys per type, as §3.2.1-§3.2.5 build the execution context
CONTEXT_KEYS: dict[TriggerType, list[str]] = {
    TriggerType.CRON: [
        "trigger_time", "scheduled_time", "execution_type", "cron_expression", "timezone",
    ],
    TriggerType.WEBHOOK: [
        "method", "headers", "body", "query_params", "source_ip", "webhook_url", "trigger_time",
    ],
    TriggerType.EMAIL: [
        "from", "to", "subject", "body", "body_html", "attachments", "received_at",
        "message_id", "headers",
    ],
    TriggerType.GITHUB: [
        "event_type", "delivery_id", "webhook_id", "repository/full_name", "repository/private",
        "sender/login", "sender/type", "payload", "received_at", "headers",
    ],
    TriggerType.SLACK: [
        "event/type", "event/channel", "event/user", "event/text", "event/ts",
        "event/thread_ts", "event/bot_id", "team_id", "api_app_id", "event_id", "event_time",
        "type", "token", "headers",
    ],
    TriggerType.MANUAL: [],
}  # fmt: skip
INPUT_KEYS: dict[TriggerType, list[str]] = {
    TriggerType.EMAIL: ["email_content", "email_subject", "sender"],
    TriggerType.SLACK: ["message", "channel", "user"],
}
TYPE_METADATA: dict[TriggerType, list[str]] = {
    TriggerType.CRON: ["invoked_at", "original_schedule"],
    TriggerType.WEBHOOK: ["simulated_request", "original_webhook_config"],
    TriggerType.EMAIL: ["filter_matched", "trigger_config"],
    TriggerType.GITHUB: ["github_event", "installation_id"],
    TriggerType.SLACK: ["slack_event", "workspace_id"],
    TriggerType.MANUAL: [],
}
# §3.3, §5.2 and §8.2: what every manual invocation's metadata says
MANUAL_METADATA = [
    "manual_invocation", "trigger_type", "original_trigger_type", "initiated_by", "invoked_by",
    "invocation_id", "invocation_description", "simulated_parameters",
    "manual_invocation_timestamp",
]  # fmt: skip
# Header names §3.2 puts in each type's context (signatures: the demo triggers have secrets)
HEADER_KEYS: dict[TriggerType, list[str]] = {
    TriggerType.WEBHOOK: ["Content-Type", "User-Agent", "X-Manual-Invocation"],
    TriggerType.EMAIL: ["Message-ID", "Date", "X-Manual-Trigger"],
    TriggerType.GITHUB: [
        "X-GitHub-Event",
        "X-GitHub-Delivery",
        "X-Hub-Signature-256",
        "User-Agent",
    ],
    TriggerType.SLACK: ["X-Slack-Request-Timestamp", "X-Slack-Signature", "Content-Type"],
}


def has(document: Any, path: str) -> bool:
    for key in path.split("/"):
        if not isinstance(document, dict) or key not in document:
            return False
        document = document[key]
    return True


def urls(document: Any, path: str = "") -> list[tuple[str, Any]]:
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("url", "href", "compare") or key.endswith("_url"):
                found.append((f"{path}/{key}", value))
            found += urls(value, f"{path}/{key}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += urls(value, f"{path}/{index}")
    return found


# GitHub's own spellings that are not http(s) URLs: clone addresses, and null when not a mirror
NOT_HTTP = {"git_url": r"^git://", "ssh_url": r"^git@github\.com:", "mirror_url": r"^$"}
