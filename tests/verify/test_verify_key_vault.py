"""``pgflex verify`` reads a Key Vault administrator password the way apply does, and logs in with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.engine.api import apply
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

from .conftest import FAST_RETRY, LOCAL

pytestmark = pytest.mark.dataplane

SECRET_VALUE = "Verify-Vault-Passw0rd!"


def test_verify_connects_with_a_password_held_in_key_vault(
    live: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD")  # only the vault knows the password
    vault, name = unique("kv")[:24], unique("vkv")
    # The emulated vault answers at 127.0.0.1, which can never lie under the challenge's vault.azure.net.
    client = SecretClient(
        f"{live.base_url}/keyvault/{vault}", DefaultAzureCredential(), verify_challenge_resource=False
    )
    client.set_secret("pg-admin", SECRET_VALUE)
    document = environment(unique("rg-vkv"), [public_server(name, LOCAL, tls={"minVersion": "TLSv1.3"})], version="15")
    document["defaults"]["administrator"]["password"] = {
        "keyVaultSecret": f"https://{vault}.vault.azure.net/secrets/pg-admin"
    }
    env_file = write(tmp_path / "env.yaml", document)
    assert apply(env_file, retry=FAST_RETRY).converged

    result = CliRunner().invoke(app, ["verify", str(env_file), "-o", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["servers"]
    assert {check["status"] for check in report["checks"]} == {"pass"}, report["checks"]
    assert SECRET_VALUE not in result.output
