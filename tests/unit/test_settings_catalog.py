"""Settings and workflow definition files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.models import TriggerType
from worker.catalog import DEMO_FILE, Catalog, load_catalog
from worker.settings import DEV_SECRET_FILE, Settings


def test_production_refuses_to_run_without_any_jwt_key() -> None:
    with pytest.raises(SystemExit, match="MTI_JWT_SECRET or MTI_JWT_PUBLIC_KEY"):
        Settings(environment="production", jwt_secret=None).token_verifier()


def test_development_generates_one_secret_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MTI_JWT_SECRET", raising=False)
    first = Settings(jwt_secret=None).jwt_signing_secret
    second = Settings(jwt_secret=None).jwt_signing_secret
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / DEV_SECRET_FILE).stat().st_mode & 0o077 == 0


def test_settings_come_from_mti_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTI_NAMESPACE", "tenant1")
    monkeypatch.setenv("MTI_HTTP_PORT", "9001")
    monkeypatch.setenv("MTI_TRIGGER_EXCHANGE", "platform.events")
    settings = Settings()
    assert settings.http_port == 9001
    assert settings.topology.trigger_exchange == "platform.events"
    assert settings.topology.invoke_queue == "tenant1.manual-trigger.invoke"


def test_namespace_may_not_hold_separators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTI_NAMESPACE", "a.b")
    with pytest.raises(ValidationError):
        Settings()


def test_demo_file_has_one_trigger_of_every_type() -> None:
    (workflow,) = load_catalog(DEMO_FILE).workflows
    assert workflow.id == "wf_demo"
    assert {t.type for t in workflow.triggers} == set(TriggerType)
    assert {t.id for t in workflow.triggers} == {f"trig_{t.value.lower()}_1" for t in TriggerType}
    assert workflow.members == {"demo-user": "operator", "demo-viewer": "viewer"}


def test_catalog_rejects_unknown_roles_and_duplicate_triggers() -> None:
    base = {"id": "wf", "name": "n", "owner": "o"}
    with pytest.raises(ValidationError, match="members"):
        Catalog.model_validate({"workflows": [{**base, "members": {"u": "admin"}}]})
    twice = [{"id": "t", "type": "MANUAL"}, {"id": "t", "type": "WEBHOOK"}]
    with pytest.raises(ValidationError, match="duplicate"):
        Catalog.model_validate({"workflows": [{**base, "triggers": twice}]})


def test_catalog_reads_json_too(tmp_path: Path) -> None:
    path = tmp_path / "flows.json"
    path.write_text('{"workflows": [{"id": "wf", "name": "n", "owner": "o"}]}')
    assert load_catalog(path).workflows[0].owner == "o"
