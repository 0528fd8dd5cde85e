"""``pgflex import``: what it imports (a group, named servers, a subscription), where it writes, and bad input."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.api import import_environment, load_spec, plan
from pgflex.cli.main import app
from support.emulator import Clients, EmulatorHandle, server_body, unique

PASSWORD = "Import-Scope-Passw0rd!"


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _server(clients: Clients, group: str, name: str, **network: str) -> None:
    body = server_body(password=PASSWORD, network=dict(network) or None)
    clients.postgres.servers.begin_create_or_update(group, name, body).result()


def _one_line_error(result: Any, expected: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgflex: ") and expected in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def group_with_two(clients: Clients, resource_group: str) -> tuple[str, str, str]:
    first, second = unique("pg-a"), unique("pg-b")
    _server(clients, resource_group, first)
    _server(clients, resource_group, second)
    return resource_group, first, second


def test_named_servers_only_and_to_standard_output(
    emulator: EmulatorHandle, group_with_two: tuple[str, str, str]
) -> None:
    group, first, second = group_with_two
    result = cli("import", "--resource-group", group, "--server", second)
    assert result.exit_code == 0, result.stderr
    assert f"name: {second}" in result.stdout and first not in result.stdout
    assert result.stdout.startswith("# Imported by `pgflex import`")
    # No sslinfo on it: the file says so, and so does standard error (stdout holds only the file).
    assert "azure.extensions lacks sslinfo" in result.stdout and "azure.extensions lacks sslinfo" in result.stderr
    assert "imported 1 server(s) into standard output" in result.stderr
    # Without --resource-group, a named server is found in the subscription (server names are global).
    found = cli("import", "--server", first)
    assert found.exit_code == 0, found.stderr
    assert f"resourceGroup: {group}" in found.stdout and f"name: {first}" in found.stdout


def test_a_server_without_overrides_plans_to_no_change_without_verify(
    emulator: EmulatorHandle, group_with_two: tuple[str, str, str], tmp_path: Path
) -> None:
    group, first, second = group_with_two
    result = import_environment(resource_group=group)
    (environment,) = result.environments
    assert sorted(environment.servers) == sorted([first, second])
    assert environment.issues() == ()
    env_file = tmp_path / "env.yaml"
    env_file.write_text(environment.text)
    env = load_spec(env_file)
    # Everything the two share went to defaults; each server entry is its name and access.
    assert "defaults:" in environment.text and "\n    version:" not in environment.text
    assert not plan(env, verify=False).has_changes
    # With verify, the one change is the sslinfo extension verify reads, which the file's notes announce.
    planned = plan(env)
    pending = {(server.name, change.name) for server in planned.servers for change in server.pending}
    assert pending == {(first, "azure.extensions"), (second, "azure.extensions")}


def test_a_subscription_spanning_groups_needs_a_directory_and_skips_what_the_spec_cannot_say(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    subscription = str(uuid.uuid4())
    emulator.add_subscription(subscription, "import")
    other = emulator.clients(subscription)
    groups = sorted([unique("rg-a"), unique("rg-b")])
    for group in groups:
        other.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
        _server(other, group, unique("pg"))
    hidden = unique("pg-endpoint")  # reached through private endpoints only: no delegated subnet, public access off
    _server(other, groups[0], hidden, publicNetworkAccess="Disabled")

    one_file = tmp_path / "env.yaml"
    refused = cli("import", "--subscription", subscription, "--output", str(one_file))
    assert refused.exit_code == 1 and "2 resource groups" in refused.stderr and not one_file.exists()

    folder = tmp_path / "envs"
    folder.mkdir()
    emulator.reset_request_count()
    result = cli("import", "--subscription", subscription, "--output", str(folder))
    assert result.exit_code == 0, result.stderr
    # One list of the subscription's servers, then parameters, rules and databases of each of the three.
    assert emulator.request_count("arm") == 1 + 3 * 3
    assert f"warning: not imported: {hidden}: public network access disabled without a delegated" in result.stderr
    written = sorted(path.name for path in folder.iterdir())
    assert written == [f"{group}.yaml" for group in groups]
    for group in groups:
        env = load_spec(folder / f"{group}.yaml")
        assert (env.subscription, env.resource_group) == (subscription, group)
        assert hidden not in [server.name for server in env.servers]
        assert not plan(env, verify=False).has_changes
    assert f"Not imported: {hidden}" in (folder / f"{groups[0]}.yaml").read_text()
    # Again: the files exist, so nothing is read or written without --force.
    emulator.reset_request_count()
    again = cli("import", "--subscription", subscription, "--output", str(folder))
    assert again.exit_code == 1 and "exists; pass --force" in again.stderr
    assert cli("import", "--subscription", subscription, "--output", str(folder), "--force").exit_code == 0


def test_an_existing_file_is_kept_unless_forced(
    emulator: EmulatorHandle, group_with_two: tuple[str, str, str], tmp_path: Path
) -> None:
    group = group_with_two[0]
    env_file = tmp_path / "env.yaml"
    env_file.write_text("keep me\n")
    emulator.reset_request_count()
    _one_line_error(cli("import", "-g", group, "--output", str(env_file)), f"{env_file} exists; pass --force")
    assert emulator.request_count("arm") == 0 and env_file.read_text() == "keep me\n"
    assert cli("import", "-g", group, "--output", str(env_file), "--force").exit_code == 0
    assert load_spec(env_file).resource_group == group


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-g", "rg-no-such-group-here"], "resource group rg-no-such-group-here does not exist in subscription"),
        (["--server", "pg-no-such-server"], "no Flexible Server named pg-no-such-server in subscription"),
        (["-g", "bad/name"], "resource group 'bad/name' must be 1 to 90"),
        (["--server", "Not_A_Name"], "may contain only lowercase letters"),
        (["--subscription", "not-a-uuid"], "subscription 'not-a-uuid' is not a UUID"),
        (["--cloud", "Mars"], "unknown cloud 'Mars'"),
        (["--cloud", "AzureCloud"], "a subscription is required for cloud AzureCloud"),
        (["--password-env", "NOT-A-VAR"], "is not an environment variable name"),
    ],
    ids=["no-group", "no-server", "bad-group", "bad-server", "bad-subscription", "bad-cloud", "no-sub", "bad-var"],
)
def test_bad_input_is_one_line_and_exit_1(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, arguments: list[str], expected: str
) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    _one_line_error(cli("import", *arguments), expected)


def test_an_unknown_server_in_a_group_is_named(emulator: EmulatorHandle, group_with_two: tuple[str, str, str]) -> None:
    group, first, _ = group_with_two
    result = cli("import", "-g", group, "--server", first, "--server", "pg-missing-one")
    _one_line_error(result, f"no Flexible Server named pg-missing-one in resource group {group}")
    assert result.stdout == ""


def test_what_the_spec_cannot_express_is_written_and_named_with_exit_1(
    emulator: EmulatorHandle, clients: Clients, resource_group: str, tmp_path: Path
) -> None:
    name = unique("pg-overlap")
    _server(clients, resource_group, name)
    for rule, start, end in [("office", "10.1.0.0", "10.1.0.255"), ("desk", "10.1.0.7", "10.1.0.7")]:
        body = {"properties": {"startIpAddress": start, "endIpAddress": end}}
        clients.postgres.firewall_rules.begin_create_or_update(resource_group, name, rule, body).result()
    env_file = tmp_path / "env.yaml"
    result = cli("import", "-g", resource_group, "--output", str(env_file))
    # Azure takes overlapping rules, the spec refuses them: the file is written for a person to finish.
    assert result.exit_code == 1
    assert f"pgflex: {env_file}:" in result.stderr and "overlaps rule" in result.stderr
    assert f"{env_file} does not validate yet" in result.stderr
    assert cli("validate", str(env_file)).exit_code == 1
