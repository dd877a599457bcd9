"""Settings and workflow definition files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.models import TriggerType
from worker.catalog import Catalog, demo_catalog, load_catalog
from worker.settings import DEV_SECRET_NAME, Settings, key_fingerprint


def test_production_refuses_to_run_without_any_jwt_key() -> None:
    with pytest.raises(SystemExit, match="MTI_JWT_SECRET or MTI_JWT_PUBLIC_KEY"):
        Settings(environment="production", jwt_secret=None).token_verifier()


def test_development_keeps_one_secret_per_user_whatever_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no configured secret and a user whose config directory is empty
    monkeypatch.delenv("MTI_JWT_SECRET", raising=False)
    monkeypatch.delenv("MTI_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    secrets = []
    # When commands run from two different directories
    for directory in ("repo", "elsewhere"):
        (tmp_path / directory).mkdir()
        monkeypatch.chdir(tmp_path / directory)
        secrets.append(Settings(jwt_secret=None).jwt_signing_secret)
    # Then they share the one secret kept in the user's config directory, private to them
    path = tmp_path / "config" / "manual-trigger" / DEV_SECRET_NAME
    assert secrets[0] == secrets[1] == path.read_text()
    assert len(secrets[0] or "") >= 32
    assert path.stat().st_mode & 0o077 == 0
    assert not (tmp_path / "repo" / ".mti").exists()


def test_the_config_directory_can_be_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTI_JWT_SECRET", raising=False)
    monkeypatch.setenv("MTI_CONFIG_DIR", str(tmp_path / "mine"))
    secret = Settings(jwt_secret=None).jwt_signing_secret
    assert (tmp_path / "mine" / DEV_SECRET_NAME).read_text() == secret


def test_fingerprints_tell_keys_apart_without_revealing_them() -> None:
    first, second = key_fingerprint("a" * 64), key_fingerprint("b" * 64)
    assert first != second and first == key_fingerprint("a" * 64)
    assert "a" * 8 not in first and first.startswith("sha256:") and len(first) == 23


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


def test_the_demo_has_one_trigger_of_every_type() -> None:
    (workflow,) = demo_catalog().workflows
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


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [
        f"MTI_{name.upper()}"
        for name in Settings.model_fields
        if f"MTI_{name.upper()}" not in readme
    ]
    assert missing == []
