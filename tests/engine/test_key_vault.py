"""Administrator passwords from Key Vault: the emulator's vault, written and read by the unmodified SDK."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
from typer.testing import CliRunner

from pgflex.cli.main import app
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, public_server, write

SECRET_VALUE = "Vault-Held-Passw0rd!"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def vault_client(emulator: EmulatorHandle, vault: str) -> SecretClient:
    """A SecretClient as a user would build one after ``eval "$(pgflex emulator env)"``."""
    # The emulated vault answers at 127.0.0.1, which can never lie under the challenge's vault.azure.net.
    return SecretClient(
        f"{emulator.base_url}/keyvault/{vault}", DefaultAzureCredential(), verify_challenge_resource=False
    )


def _env_file(tmp_path: Path, group: str, server: str, secret_uri: str) -> Path:
    document = environment(group, [public_server(server, {"office": "203.0.113.0/24"})])
    document["defaults"]["administrator"]["password"] = {"keyVaultSecret": secret_uri}
    return write(tmp_path / "env.yaml", document)


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_vault_speaks_key_vault_to_the_sdk(emulator: EmulatorHandle) -> None:
    vault, name = unique("kv")[:24], unique("secret")
    client = vault_client(emulator, vault)
    first = client.set_secret(name, "first", content_type="text/plain")
    second = client.set_secret(name, "second")
    assert first.id == f"https://{vault}.vault.azure.net/secrets/{name}/{first.properties.version}"
    assert first.properties.content_type == "text/plain" and first.properties.enabled
    assert client.get_secret(name).value == "second"  # the latest version
    assert client.get_secret(name, first.properties.version).value == "first"
    assert second.properties.version != first.properties.version
    assert client.begin_delete_secret(name).result().name == name
    with pytest.raises(ResourceNotFoundError) as missing:
        client.get_secret(name)
    assert missing.value.error is not None and missing.value.error.code == "SecretNotFound"


def test_a_request_without_a_token_gets_the_key_vault_challenge(emulator: EmulatorHandle) -> None:
    url = f"{emulator.base_url}/keyvault/somevault/secrets/anything?api-version=7.6"
    response = requests.get(url, verify=emulator.environment()["REQUESTS_CA_BUNDLE"], timeout=10)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
    assert 'resource="https://vault.azure.net"' in challenge


def test_apply_reads_the_administrator_password_from_key_vault_and_never_shows_it(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD", raising=False)
    vault, group, server = unique("kv")[:24], unique("rg-kv"), unique("pg")
    vault_client(emulator, vault).set_secret("pg-admin", SECRET_VALUE)
    env_file = _env_file(tmp_path, group, server, f"https://{vault}.vault.azure.net/secrets/pg-admin")

    planned = _cli("plan", str(env_file), "--output", "json")
    assert planned.exit_code == 0, planned.output
    applied = _cli("apply", str(env_file), "--auto-approve", "--no-verify")
    assert applied.exit_code == 0, applied.output

    assert clients.postgres.servers.get(group, server).state == "Ready"
    for shown in (planned.stdout, planned.stderr, applied.stdout, applied.stderr):
        assert SECRET_VALUE not in shown
    recorded = emulator.record_path.read_text()
    assert SECRET_VALUE not in recorded and "/keyvault/" not in recorded  # Key Vault is not ARM: never recorded


def test_a_missing_secret_stops_apply_before_any_write_and_says_where_it_is_referenced(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD", raising=False)
    vault, server = unique("kv")[:24], unique("pg")
    env_file = _env_file(tmp_path, unique("rg-kv"), server, f"https://{vault}.vault.azure.net/secrets/never-set")
    emulator.reset_request_count()
    result = _cli("apply", str(env_file), "--auto-approve")
    assert result.exit_code == 1
    line = _line_of(env_file, "keyVaultSecret")
    # A plan error (pre-flight), shown with the plan.
    assert re.search(rf"env\.yaml:{line}:\d+: ", result.output), result.output
    assert f"server {server!r}" in result.output and "'never-set'" in result.output
    assert f"https://{vault}.vault.azure.net" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output
    assert emulator.request_count("keyvault") > 0  # the vault was asked ...
    assert emulator.request_count("arm.writes") == 0  # ... before anything was written
