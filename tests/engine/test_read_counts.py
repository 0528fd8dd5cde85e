"""Reads per server, counted at the emulator: observe costs at most 3 whatever a server's rules and parameters,
and apply repeats no read its writes' operations already made (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.postgresqlflexibleservers.models import FirewallRule, FirewallRuleProperties

from pgflex.azure.clients import connect
from pgflex.azure.retry import RetryPolicy
from pgflex.engine.api import apply
from pgflex.engine.observe import observe, observe_server
from pgflex.spec import Environment, load_spec
from support.emulator import Clients, EmulatorHandle, server_body, unique
from support.specs import environment, public_server, write

PASSWORD = "Reads-Passw0rd!x"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
# Six parameters on top of the TLS three and azure.extensions: 10 managed in all.
SIX_MORE = {
    "log_connections": "on",
    "log_disconnections": "on",
    "log_checkpoints": "on",
    "log_min_duration_statement": "1000",
    "idle_in_transaction_session_timeout": "600000",
    "lock_timeout": "5000",
}
# (firewall rules, managed parameters) of the four servers observed.
SHAPES = [(1, 4), (10, 4), (1, 10), (10, 10)]


def _rules(count: int) -> dict[str, str]:
    return {f"rule-{index:02d}": f"203.0.113.{index}/32" for index in range(count)}


def _server_name(rules: int, parameters: int) -> str:
    return f"r{rules}-p{parameters}"


@pytest.fixture
def shaped(emulator: EmulatorHandle, clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    """Four servers made through the SDK, one per shape, each with its rules; the env file that names them."""
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    group = unique("rg-reads")
    clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    servers = []
    for rules, parameters in SHAPES:
        name = unique(_server_name(rules, parameters))
        clients.postgres.servers.begin_create_or_update(group, name, server_body()).result()  # type: ignore[call-overload]
        for rule, cidr in _rules(rules).items():
            address = cidr.removesuffix("/32")
            body = FirewallRule(properties=FirewallRuleProperties(start_ip_address=address, end_ip_address=address))
            clients.postgres.firewall_rules.begin_create_or_update(group, name, rule, body).result()
        extra = SIX_MORE if parameters == 10 else {}
        servers.append(public_server(name, _rules(rules), parameters=extra))
    return load_spec(write(tmp_path / "env.yaml", environment(group, servers)))


def test_observing_one_server_takes_3_reads_with_1_or_10_rules_and_4_or_10_parameters(
    emulator: EmulatorHandle, shaped: Environment
) -> None:
    clients = connect(shaped.cloud, shaped.subscription)
    for server, (rules, parameters) in zip(shaped.servers, SHAPES, strict=True):
        emulator.reset_request_count()
        observed = observe_server(shaped, clients, server)
        assert len(observed.firewall_rules) == rules and len(observed.parameters) == parameters
        # GET of the server, one list of all its parameters, one list of its rules.
        assert emulator.request_count("arm.reads") == 3, (rules, parameters)
        assert emulator.request_count("arm") == 3


def test_observing_a_group_of_servers_takes_at_most_3_reads_each(emulator: EmulatorHandle, shaped: Environment) -> None:
    clients = connect(shaped.cloud, shaped.subscription)
    emulator.reset_request_count()
    observed = observe(shaped, clients)
    assert all(s.exists for s in observed.servers.values())
    count = len(shaped.servers)
    # The group's existence, one list of its servers (not one GET each), then two lists per server.
    assert emulator.request_count("arm") == emulator.request_count("arm.reads") == 1 + 1 + 2 * count
    assert observed.requests == 1 + 1 + 2 * count


def _tls_document(group: str, names: list[str], versions: list[str]) -> dict[str, Any]:
    return environment(
        group,
        [
            public_server(name, {"office": "203.0.113.0/24"}, tls={"minVersion": version})
            for name, version in zip(names, versions, strict=True)
        ],
    )


def _entries(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def _is_poll(path: str) -> bool:
    lowered = path.lower()
    return "/azureasyncoperation/" in lowered or "/operationresults/" in lowered


def _resource_reads(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(method, lower-cased path) of each read that is not an operation's status poll."""
    return [
        (e["method"], e["path"].lower()) for e in entries if e["method"] in ("GET", "HEAD") and not _is_poll(e["path"])
    ]


def _ending(reads: list[tuple[str, str]], suffix: str, method: str = "GET") -> list[str]:
    return [path for verb, path in reads if verb == method and path.endswith(suffix)]


def test_a_tls_change_on_n_servers_repeats_no_read_and_re_plans_only_what_changed(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    group, names = unique("rg-tls"), [unique("tls") for _ in range(4)]
    spec = tmp_path / "env.yaml"
    assert apply(write(spec, _tls_document(group, names, ["TLSv1.2"] * 4)), retry=FAST_RETRY).converged

    # A converged apply: one observe, no lease, not one write.
    emulator.reset_request_count()
    again = apply(spec, retry=FAST_RETRY)
    assert again.converged and again.writes == 0
    assert emulator.request_count("arm.writes") == emulator.request_count("arm.deletes") == 0
    assert emulator.request_count("arm.reads") == 2 + 2 * len(names)

    # TLS 1.3 on the first three servers; the fourth stays as it is.
    changed = names[:3]
    write(spec, _tls_document(group, names, ["TLSv1.3"] * len(changed) + ["TLSv1.2"]))
    emulator.new_record_lines()
    result = apply(spec, retry=FAST_RETRY)
    assert result.converged and result.writes == len(changed)
    reads = _resource_reads(_entries(emulator.new_record_lines()))
    servers = f"/resourcegroups/{group}/providers/microsoft.dbforpostgresql/flexibleservers"
    for name in names:
        # Observed by lists: never one GET of a server, nor of a parameter but for the poller's final GET.
        assert not _ending(reads, f"{servers}/{name}"), name
        final_gets = _ending(reads, f"{servers}/{name}/configurations/ssl_min_protocol_version")
        assert len(final_gets) == (1 if name in changed else 0), name
        # Rules listed by the plan; by the plan under the lease and the final re-plan only where it changes.
        assert len(_ending(reads, f"{servers}/{name}/firewallrules")) == (3 if name in changed else 1), name
    # The bound, in reads that are not status polls nor the lease's: the plan (2 + 2 per server), the plan again
    # under the lease and the final re-plan of the servers with changes (2 + 2 per changed server each), then one
    # read per write: the poller's final GET (29 here). The old code made 84: it read each server and each
    # parameter apart (1 + 6 per server per observe), re-planned every server twice, and after each write read the
    # server (wait for Ready) and the parameter again (read-back). Its converged apply read 25 times where this
    # one reads 10.
    lease_reads = _ending(reads, f"/resourcegroups/{group}")
    observes = (2 + 2 * len(names)) + 2 * (2 + 2 * len(changed))
    assert len(reads) - len(lease_reads) - observes == result.writes
