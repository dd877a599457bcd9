"""Adding a trigger type is one edit per concern (docs/trigger-types.md, "Adding a trigger
type"): in a copy of the source tree, a throw-away TELEGRAM type is added by writing only its
registry entry, its kind/spec module, its resolver module and its test; its golden event and
the exported schemas are generated. Everything else (SPECS, KINDS, RESOLVERS, the exported
JSON Schemas, the AsyncAPI document, the demo workflow, the tests over every registered type)
must pick it up by itself."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["worker", "contracts", "migrations", "tests", "pyproject.toml"]
SKIPPED = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.pyc")

REGISTRY_ENTRY = '    MANUAL = "MANUAL"\n'

KIND_MODULE = '''"""TELEGRAM: a Telegram Bot API update delivered to the bot's webhook."""

from __future__ import annotations

from typing import Any

from contracts.kinds.base import TriggerKind
from contracts.models import TriggerType
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec, ParameterExample

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"

TELEGRAM_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.TELEGRAM,
    supported=True,
    description="Simulate an update (a text message) delivered to the bot's webhook.",
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "chat_id": {"type": "integer", "description": "The chat the message is in."},
            "text": {"type": "string", "maxLength": 4096, "description": "The message text."},
        },
    },
    default_parameters={"chat_id": 100200300, "text": "/start"},
    parameter_examples=[
        ParameterExample(
            name="Command", description="A bot command.", parameters={"text": "/deploy"}
        ),
        ParameterExample(
            name="Group message",
            description="A message in a supergroup.",
            parameters={"chat_id": -1001234567890, "text": "hello"},
        ),
    ],
)


class TelegramKind(TriggerKind):
    spec = TELEGRAM_SPEC
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "properties": {"secret_token": {"type": "string", "minLength": 1, "writeOnly": True}},
    }
    http_delivery = True
    example_config = {"secret_token": "demo-telegram-secret"}  # noqa: RUF012 -- read-only

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return [SECRET_TOKEN_HEADER]


KIND = TelegramKind()
'''

RESOLVER_MODULE = '''"""TELEGRAM: an `Update` with a text message, as the Bot API posts it."""

from __future__ import annotations

from typing import Any

from contracts.kinds.telegram import SECRET_TOKEN_HEADER, TelegramKind
from contracts.models import InvokeRequest
from worker.resolvers.base import Resolution, compact_json, derived_int
from worker.resolvers.reproducing import dict_of, expressible, present
from worker.resolvers.signing import signed_headers


class TelegramResolver(TelegramKind):
    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        chat_id = parameters["chat_id"]
        update = {
            "update_id": derived_int(f"{request.invocation_id}:update", 1, 10**9),
            "message": {
                "message_id": derived_int(f"{request.invocation_id}:message", 1, 10**6),
                "from": {"id": 4242, "is_bot": False, "first_name": request.user_id[:64]},
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "date": int(request.requested_at.timestamp()),
                "text": parameters["text"],
            },
        }
        raw_body = compact_json(update)
        secret = config.get("secret_token")
        headers = signed_headers(
            {"Content-Type": "application/json"},
            raw_body,
            {SECRET_TOKEN_HEADER: secret} if secret else {},
        )
        return Resolution(
            trigger_data={"update": update, "headers": headers, "raw_body": raw_body},
            input_data={"chat_id": chat_id, "text": parameters["text"]},
        )

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        message = dict_of(dict_of(trigger_data.get("update")).get("message"))
        chat_id = dict_of(message.get("chat")).get("id")
        return expressible(self, config, present({"chat_id": chat_id, "text": message.get("text")}))


RESOLVER = TelegramResolver()
'''

TEST_MODULE = '''"""TELEGRAM: the secret token travels in its header, hidden in answers."""

from __future__ import annotations

from contracts.models import TriggerType
from contracts.triggers import trigger_redaction
from tests.unit.resolver_helpers import registered_request, registered_trigger
from worker.resolvers import prepare_invocation


def test_an_update_carries_the_secret_token_header_which_is_hidden() -> None:
    trigger = registered_trigger(TriggerType.TELEGRAM)
    request = registered_request(TriggerType.TELEGRAM, parameters={"text": "hi"})
    event = prepare_invocation(request, trigger).event
    assert event.trigger_data["update"]["message"]["text"] == "hi"
    headers = event.trigger_data["headers"]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "demo-telegram-secret"
    shown = trigger_redaction(trigger).record(event.model_dump(mode="json"))["trigger_data"]
    assert shown["headers"]["X-Telegram-Bot-Api-Secret-Token"] != "demo-telegram-secret"
'''

CHECK = """
from contracts import asyncapi
from contracts.export import rendered_schemas
from contracts.kinds import KINDS, SPECS
from contracts.models import TriggerEvent, TriggerType
from tests.unit.resolver_helpers import registered_request, registered_trigger
from worker.emitted import event_errors
from worker.resolvers import RESOLVERS, prepare_invocation

telegram = TriggerType("TELEGRAM")
assert telegram in SPECS and telegram in KINDS and telegram in RESOLVERS
assert "parameters/telegram.schema.json" in rendered_schemas()
document = asyncapi.asyncapi_document()
assert "telegram" in document["channels"]["triggerEvents"]["parameters"]["triggerType"]["enum"]
assert "TELEGRAM" in document["components"]["schemas"]["TriggerType"]["enum"]
for example in SPECS[telegram].parameter_examples:
    request = registered_request(telegram, parameters=example.parameters)
    event = prepare_invocation(request, registered_trigger(telegram)).event
    assert TriggerEvent.parse(event.body()) == event
    assert event_errors(event, example.parameters) == []
print("TELEGRAM is registered everywhere")
"""

# The registry-wide tests that must pass with the new type, and the new type's own.
REGISTRY_TESTS = [
    "tests/unit/test_registry.py",
    "tests/unit/test_resolvers.py",
    "tests/unit/test_golden.py",
    "tests/unit/test_contracts.py",
    "tests/unit/test_structure.py",
    "tests/unit/test_resolver_telegram.py",
]


def _tree(root: Path) -> dict[str, str]:
    skipped = {"__pycache__", ".hypothesis", ".pytest_cache"}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and not skipped & set(path.relative_to(root).parts)
    }


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=SKIPPED)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def _run(copy: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_new_trigger_type_is_one_registry_entry_one_kind_one_resolver_and_its_tests(
    copy: Path,
) -> None:
    pristine = _tree(copy)
    registry = copy / "contracts" / "registry.py"
    assert REGISTRY_ENTRY in registry.read_text()
    registry.write_text(
        registry.read_text().replace(REGISTRY_ENTRY, REGISTRY_ENTRY + '    TELEGRAM = "TELEGRAM"\n')
    )
    (copy / "contracts" / "kinds" / "telegram.py").write_text(KIND_MODULE)
    (copy / "worker" / "resolvers" / "telegram.py").write_text(RESOLVER_MODULE)
    (copy / "tests" / "unit" / "test_resolver_telegram.py").write_text(TEST_MODULE)
    written = _tree(copy)
    assert _changed(pristine, written) == [
        "contracts/kinds/telegram.py",
        "contracts/registry.py",
        "tests/unit/test_resolver_telegram.py",
        "worker/resolvers/telegram.py",
    ]

    # Generated, not written: the golden event and the exported schemas.
    golden = _run(
        copy,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit/test_golden.py",
        "-k",
        "TELEGRAM",
        UPDATE_GOLDEN="1",
    )
    assert golden.returncode == 0, golden.stdout + golden.stderr
    export = _run(copy, "-m", "contracts.export")
    assert export.returncode == 0, export.stderr
    generated = _changed(written, _tree(copy))
    assert {"contracts/asyncapi.json", "tests/golden/telegram.json"} <= set(generated)
    assert "contracts/schemas/parameters/telegram.schema.json" in generated
    # (the models' schemas name the types too: each lists TELEGRAM now)
    assert [
        name
        for name in generated
        if not name.startswith("contracts/schemas/")
        and name not in {"contracts/asyncapi.json", "tests/golden/telegram.json"}
    ] == []

    check = _run(copy, "-c", CHECK)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = _run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", *REGISTRY_TESTS)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert (
        " passed" in tests.stdout
        and "TELEGRAM" in (copy / "tests/golden/telegram.json").read_text()
    )
