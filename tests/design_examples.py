"""The design document's own requests (§4.1.2 and §10), verbatim: `wf_123` as it writes it,
and §10.1's body given the closing brace it lacks. One copy for every test that uses them."""

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
