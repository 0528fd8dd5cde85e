"""Interpolation, defaults, normalisation, policy exceptions, error reporting and secrets."""

from __future__ import annotations

import textwrap

import pytest
from pydantic import ValidationError

from pgflex.spec import (
    PgflexError,
    PrivateAccess,
    PublicAccess,
    Server,
    SpecError,
    load_spec,
    parse_spec,
    resolve_password,
)

HEADER = """\
apiVersion: pgflex/v1
environment:
  name: test
  cloud: {cloud}
  subscription: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg-test
  location: westeurope
"""

SERVER = """\
  - name: {name}
    version: "16"
    sku: {{name: Standard_B1ms, tier: Burstable}}
    storage: {{sizeGb: 32}}
    administrator: {{login: pgadmin, password: {{fromEnv: PGFLEX_ADMIN_PASSWORD}}}}
"""


def spec(body: str, *, cloud: str = "local", env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_spec(HEADER.format(cloud=cloud) + textwrap.dedent(body), "mem.yaml", env or {})


def one_server(extra: str = "", access: str = "access: {public: {firewallRules: []}}", **kwargs: str) -> Server:
    body = "servers:\n" + SERVER.format(name="pg-test") + textwrap.indent(extra + access + "\n", "    ")
    return spec(body, **kwargs).servers[0]  # type: ignore[no-any-return]


# --- interpolation --------------------------------------------------------------------------------


def test_interpolation_reads_the_given_environment() -> None:
    server = one_server(
        "tags: {owner: '${OWNER}', cost: 'team-${TEAM}-${REGION}'}\n",
        env={"OWNER": "data", "TEAM": "core", "REGION": "weu"},
    )
    assert server.tags == {"owner": "data", "cost": "team-core-weu"}


def test_double_dollar_escapes_interpolation() -> None:
    server = one_server("tags: {note: 'literal $${HOME}'}\n")
    assert server.tags == {"note": "literal ${HOME}"}


def test_interpolation_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGFLEX_TEST_OWNER", "from-os")
    text = HEADER.format(cloud="local") + "servers:\n" + SERVER.format(name="pg-test")
    text += "    tags: {owner: '${PGFLEX_TEST_OWNER}'}\n    access: {public: {}}\n"
    assert parse_spec(text, "mem.yaml").servers[0].tags == {"owner": "from-os"}


def test_unknown_variable_is_named_once_without_a_follow_up_error() -> None:
    with pytest.raises(SpecError) as caught:
        one_server("tls: {minVersion: '${PGFLEX_TEST_TLS}'}\n")
    (issue,) = caught.value.issues
    assert issue.key_path == "servers[0].tls.minVersion"
    assert "PGFLEX_TEST_TLS" in issue.message


# --- defaults -------------------------------------------------------------------------------------

DEFAULTS = """\
defaults:
  version: "15"
  sku: {name: Standard_D2ds_v5, tier: GeneralPurpose}
  storage: {sizeGb: 128, autoGrow: true}
  tls: {minVersion: TLSv1.3}
  tags: {owner: data-team, env: test}
  parameters: {log_connections: true, azure.extensions: [sslinfo]}
  administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}
servers:
  - name: pg-inherits
    access: {public: {}}
  - name: pg-overrides
    version: "17"
    sku: {name: Standard_B2s, tier: Burstable}
    storage: {sizeGb: 64}
    tls: {maxVersion: TLSv1.3}
    tags: {env: special}
    parameters: {log_connections: false, work_mem: 8192}
    access: {public: {}}
"""


def test_defaults_fill_in_what_a_server_omits() -> None:
    inherited = spec(DEFAULTS).server("pg-inherits")
    assert inherited.version == "15"
    assert inherited.sku.tier == "GeneralPurpose"
    assert (inherited.storage.size_gb, inherited.storage.auto_grow) == (128, True)
    assert inherited.tls.min_version == "TLSv1.3"
    assert inherited.administrator is not None and inherited.administrator.login == "pgadmin"


def test_server_values_win_and_mappings_merge_key_by_key() -> None:
    server = spec(DEFAULTS).server("pg-overrides")
    assert server.version == "17"
    assert server.sku.name == "Standard_B2s" and server.sku.tier == "Burstable"  # sku is replaced whole
    assert (server.storage.size_gb, server.storage.auto_grow) == (64, True)
    assert (server.tls.min_version, server.tls.max_version) == ("TLSv1.3", "TLSv1.3")
    assert server.tags == {"owner": "data-team", "env": "special"}
    assert server.parameters == {"azure.extensions": "sslinfo", "log_connections": "off", "work_mem": "8192"}


def test_an_inherited_secret_reference_points_at_the_defaults() -> None:
    server = spec(DEFAULTS).server("pg-inherits")
    assert server.administrator is not None
    assert server.administrator.password.origin.key_path == "defaults.administrator.password"


# --- normalisation --------------------------------------------------------------------------------


def test_parameters_use_azure_spelling() -> None:
    server = one_server(
        "parameters:\n"
        "  log_connections: true\n"
        "  log_checkpoints: false\n"
        "  max_connections: 100\n"
        "  random_page_cost: 1.5\n"
        "  shared_preload_libraries: [pg_stat_statements, auto_explain]\n"
        "  azure.extensions: [SSLINFO, pg_trgm, sslinfo]\n"
    )
    assert server.parameters == {
        "azure.extensions": "pg_trgm,sslinfo",
        "log_checkpoints": "off",
        "log_connections": "on",
        "max_connections": "100",
        "random_page_cost": "1.5",
        "shared_preload_libraries": "pg_stat_statements,auto_explain",
    }


def test_azure_extensions_as_a_string_is_normalised_too() -> None:
    server = one_server("parameters: {azure.extensions: 'PG_TRGM, sslinfo'}\n")
    assert server.parameters == {"azure.extensions": "pg_trgm,sslinfo"}


@pytest.mark.parametrize(
    ("written", "normalised"),
    [("TLSv1.3", "TLSv1.3"), ("tlsv1.2", "TLSv1.2"), ("TLS1.3", "TLSv1.3"), ("'1.2'", "TLSv1.2")],
)
def test_tls_versions_are_normalised(written: str, normalised: str) -> None:
    assert one_server(f"tls: {{minVersion: {written}}}\n").tls.min_version == normalised


def test_tls_policy_defaults_and_server_parameters() -> None:
    server = one_server()
    assert (server.tls.require_secure_transport, server.tls.min_version, server.tls.max_version) == (
        True,
        "TLSv1.2",
        None,
    )
    assert server.desired_parameters() == {
        "require_secure_transport": "on",
        "ssl_min_protocol_version": "TLSv1.2",
        "ssl_max_protocol_version": "",
    }


def test_firewall_rules_become_start_end_pairs() -> None:
    rules = "[{name: one, cidr: 192.0.2.7}, {name: azure, start: 0.0.0.0, end: 0.0.0.0}]"
    access = f"access: {{public: {{firewallRules: {rules}}}}}"
    server = one_server(access=access)
    assert isinstance(server.access, PublicAccess)
    one, azure = server.access.firewall_rules
    assert (one.start_ip, one.end_ip, one.written_as) == ("192.0.2.7", "192.0.2.7", "192.0.2.7")
    assert azure.allows_azure_services and not one.allows_azure_services
    assert server.allows_azure_services


def test_private_access_by_resource_id() -> None:
    group = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net"
    network = f"{group}/providers/Microsoft.Network"
    zone = "x.private.postgres.database.azure.com"
    access = (
        "access:\n  private:\n"
        f"    subnet: {{id: {network}/virtualNetworks/vnet/subnets/snet}}\n"
        f"    privateDnsZone: {{id: {network}/privateDnsZones/{zone}}}"
    )
    server = one_server(access=access)
    assert isinstance(server.access, PrivateAccess)
    assert server.access.private_dns_zone.zone_name == "x.private.postgres.database.azure.com"
    assert server.access.subnet.create is None


# --- policy exceptions ----------------------------------------------------------------------------


def test_excepted_violations_load_and_are_listed() -> None:
    server = one_server(
        "tls: {minVersion: TLSv1.1, requireSecureTransport: false}\n"
        "exceptions:\n"
        "  - {rule: tls-below-1.2, reason: probing legacy clients in the emulator}\n"
        "  - {rule: insecure-transport, reason: plaintext refusal test}\n"
        "  - {rule: open-to-internet, reason: public demo}\n",
        access="access: {public: {firewallRules: [{name: anyone, start: 0.0.0.0, end: 255.255.255.255}]}}",
    )
    applied = {exception.rule: exception for exception in server.applied_exceptions}
    assert set(applied) == {"tls-below-1.2", "insecure-transport", "open-to-internet"}
    assert applied["tls-below-1.2"].reason == "probing legacy clients in the emulator"
    assert applied["tls-below-1.2"].waived == "minVersion TLSv1.1"
    assert server.tls.min_version == "TLSv1.1"
    assert len(server.exceptions) == 3


def test_an_unneeded_exception_is_kept_but_not_applied() -> None:
    server = one_server("exceptions: [{rule: insecure-transport, reason: not needed}]\n")
    assert [exception.rule for exception in server.exceptions] == ["insecure-transport"]
    assert server.applied_exceptions == ()


# --- error reporting ------------------------------------------------------------------------------


def test_all_issues_are_reported_in_one_pass_sorted_by_line() -> None:
    body = (
        "servers:\n"
        + SERVER.format(name="pg-one")
        + "    tls: {minVersion: TLSv1.0}\n    access: {public: {}}\n"
        + SERVER.format(name="Bad_Name")
        + "    access: {public: {}}\n"
        + SERVER.format(name="pg-three")
        + "    highAvailability: {mode: Sometimes}\n    access: {public: {}}\n"
    )
    with pytest.raises(SpecError) as caught:
        spec(body)
    paths = [issue.key_path for issue in caught.value.issues]
    assert paths == ["servers[0].tls.minVersion", "servers[1].name", "servers[2].highAvailability.mode"]
    lines = [issue.line for issue in caught.value.issues]
    assert lines == sorted(lines)


def test_error_text_names_file_line_column_and_key_path() -> None:
    with pytest.raises(SpecError) as caught:
        one_server("tls: {minVersion: TLSv1.3, maxVersion: TLSv1.2}\n")
    assert str(caught.value) == (
        "mem.yaml:14:23: servers[0].tls.minVersion: minVersion TLSv1.3 is above maxVersion TLSv1.2"
    )


def test_spec_error_is_a_pgflex_error() -> None:
    assert issubclass(SpecError, PgflexError)


def test_unreadable_file_is_a_spec_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="cannot read the file"):
        load_spec(tmp_path / "missing.yaml")


def test_empty_file_is_reported() -> None:
    with pytest.raises(SpecError, match="must hold a mapping"):
        parse_spec("", "empty.yaml", {})


def test_the_model_is_frozen() -> None:
    server = one_server()
    with pytest.raises(ValidationError):
        server.name = "other"  # type: ignore[misc]


# --- secrets --------------------------------------------------------------------------------------

SECRET = "s3cr3t-Value-that-must-not-leak"


def test_password_is_resolved_on_demand_and_never_stored() -> None:
    loaded = spec(
        "servers:\n" + SERVER.format(name="pg-test") + "    access: {public: {}}\n",
        env={"PGFLEX_ADMIN_PASSWORD": SECRET},
    )
    server = loaded.servers[0]
    assert resolve_password(server, {"PGFLEX_ADMIN_PASSWORD": SECRET}) == SECRET
    for text in (repr(loaded), str(loaded), loaded.model_dump_json(), repr(loaded.model_dump())):
        assert SECRET not in text
    assert server.administrator is not None
    assert server.administrator.password.env_var == "PGFLEX_ADMIN_PASSWORD"


def test_unset_password_variable_names_the_variable_and_the_server() -> None:
    with pytest.raises(SpecError) as caught:
        resolve_password(one_server(), {})
    message = str(caught.value)
    assert "PGFLEX_ADMIN_PASSWORD" in message and "'pg-test'" in message
    assert "servers[0].administrator.password" in message


def test_key_vault_references_are_left_to_the_azure_layer() -> None:
    text = HEADER.format(cloud="local") + textwrap.dedent("""\
        servers:
          - name: pg-test
            version: "16"
            sku: {name: Standard_B1ms, tier: Burstable}
            storage: {sizeGb: 32}
            administrator:
              login: pgadmin
              password: {keyVaultSecret: https://kv-test.vault.azure.net/secrets/pg-admin}
            access: {public: {}}
        """)
    server = parse_spec(text, "mem.yaml", {}).servers[0]
    with pytest.raises(SpecError, match="azure layer"):
        resolve_password(server, {})


def test_a_literal_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(SpecError) as caught:
        spec(
            "servers:\n  - name: pg-test\n    version: '16'\n"
            "    sku: {name: Standard_B1ms, tier: Burstable}\n"
            f"    storage: {{sizeGb: 32}}\n    administrator: {{login: pgadmin, password: {SECRET}}}\n"
            "    access: {public: {}}\n"
        )
    assert "never a literal" in str(caught.value)
    assert SECRET not in str(caught.value)


# --- YAML conveniences ----------------------------------------------------------------------------


def test_anchors_in_x_keys_can_be_shared_and_keep_positions() -> None:
    text = HEADER.format(cloud="local") + textwrap.dedent("""\
        x-common: &common
          version: "16"
          sku: {name: Standard_B1ms, tier: Burstable}
          storage: {sizeGb: 32}
          administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}
        servers:
          - <<: *common
            name: pg-a
            access: {public: {}}
          - <<: *common
            name: pg-b
            storage: {sizeGb: 31}
            access: {public: {}}
        """)
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "mem.yaml", {})
    (issue,) = caught.value.issues
    assert (issue.line, issue.key_path) == (19, "servers[1].storage.sizeGb")
    loaded = parse_spec(text.replace("sizeGb: 31", "sizeGb: 64"), "mem.yaml", {})
    assert [server.version for server in loaded.servers] == ["16", "16"]


def test_azure_services_rule_is_flagged_in_dumps() -> None:
    access = "access: {public: {firewallRules: [{name: AllowAllAzureServices, cidr: 0.0.0.0/32}]}}"
    dump = one_server(access=access).model_dump()
    assert dump["allowsAzureServices"] is True
    assert dump["access"]["firewallRules"][0]["allowsAzureServices"] is True
