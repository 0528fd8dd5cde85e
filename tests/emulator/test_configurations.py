"""Server parameters: the catalogue, Azure's value rules, the one-page list and pending restarts."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from pgflex.emulator.models.parameters import catalogue
from support.emulator import Clients, EmulatorHandle, server_body


@pytest.fixture
def server(clients: Clients, resource_group: str, server_name: str) -> str:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    return server_name


def _set(clients: Clients, group: str, server: str, name: str, value: str) -> object:
    body = {"properties": {"value": value, "source": "user-override"}}
    return clients.postgres.configurations.begin_update(group, server, name, body).result()


def test_list_holds_the_whole_catalogue_in_one_page_whatever_page_size(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    emulator.tune(page_size=50)  # pages the other lists; the service answers every parameter at once
    emulator.reset_request_count()
    names = [c.name for c in clients.postgres.configurations.list_by_server(resource_group, server)]
    assert len(names) == len(catalogue()) == 415
    assert len(set(names)) == len(names)
    assert emulator.request_count() == 1  # one GET, no nextLink
    assert emulator.request_count("arm.reads") == 1


def test_tls_parameters_have_azure_metadata(clients: Clients, resource_group: str, server: str) -> None:
    get = clients.postgres.configurations.get
    secure = get(resource_group, server, "require_secure_transport")
    assert (secure.value, secure.data_type, secure.allowed_values) == ("on", "Boolean", "on,off")
    minimum = get(resource_group, server, "ssl_min_protocol_version")
    assert (minimum.value, minimum.allowed_values) == ("TLSv1.2", "TLSv1.2,TLSv1.3")
    assert minimum.is_dynamic_config is True
    assert get(resource_group, server, "ssl_max_protocol_version").allowed_values == ",TLSv1.2,TLSv1.3"
    extensions = get(resource_group, server, "azure.extensions")
    assert extensions.data_type == "Set" and "sslinfo" in (extensions.allowed_values or "").split(",")
    assert get(resource_group, server, "ssl_ciphers").is_read_only is True


def test_values_come_back_in_the_services_spelling(clients: Clients, resource_group: str, server: str) -> None:
    updated = _set(clients, resource_group, server, "log_connections", "ON")
    assert updated.value == "on"  # type: ignore[attr-defined]
    assert updated.source == "user-override"  # type: ignore[attr-defined]
    assert clients.postgres.configurations.get(resource_group, server, "log_connections").value == "on"
    assert _set(clients, resource_group, server, "ssl_min_protocol_version", "tlsv1.3").value == "TLSv1.3"  # type: ignore[attr-defined]
    assert _set(clients, resource_group, server, "azure.extensions", "SSLINFO,PG_TRGM").value == "sslinfo,pg_trgm"  # type: ignore[attr-defined]
    assert _set(clients, resource_group, server, "work_mem", "8192").value == "8192"  # type: ignore[attr-defined]


def test_names_are_matched_ignoring_case(clients: Clients, resource_group: str, server: str) -> None:
    assert clients.postgres.configurations.get(resource_group, server, "datestyle").name == "DateStyle"
    updated = _set(clients, resource_group, server, "datestyle", "ISO, DMY")
    assert (updated.name, updated.value) == ("DateStyle", "ISO, DMY")  # type: ignore[attr-defined]


def test_put_variant_updates_too(clients: Clients, resource_group: str, server: str) -> None:
    body = {"properties": {"value": "TLSv1.3", "source": "user-override"}}
    result = clients.postgres.configurations.begin_put(
        resource_group, server, "ssl_min_protocol_version", body
    ).result()
    assert result.value == "TLSv1.3"


def test_static_parameter_is_pending_until_restart(clients: Clients, resource_group: str, server: str) -> None:
    configurations = clients.postgres.configurations
    assert configurations.get(resource_group, server, "max_connections").is_dynamic_config is False
    _set(clients, resource_group, server, "max_connections", "200")
    assert configurations.get(resource_group, server, "max_connections").is_config_pending_restart is True
    _set(clients, resource_group, server, "ssl_min_protocol_version", "TLSv1.3")
    assert configurations.get(resource_group, server, "ssl_min_protocol_version").is_config_pending_restart is False
    clients.postgres.servers.begin_restart(resource_group, server).result()
    assert configurations.get(resource_group, server, "max_connections").is_config_pending_restart is False
    assert configurations.get(resource_group, server, "max_connections").value == "200"


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("ssl_min_protocol_version", "TLSv1.1", "InvalidParameterValue"),
        ("require_secure_transport", "maybe", "InvalidParameterValue"),
        ("max_connections", "5", "InvalidParameterValue"),
        ("max_connections", "lots", "InvalidParameterValue"),
        ("azure.extensions", "sslinfo,not_an_extension", "InvalidParameterValue"),
        ("ssl_ciphers", "ALL", "ConfigurationReadOnly"),
        ("ssl", "off", "ConfigurationReadOnly"),
    ],
)
def test_values_azure_refuses_are_refused(
    clients: Clients, resource_group: str, server: str, name: str, value: str, code: str
) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _set(clients, resource_group, server, name, value)
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == code


def test_allow_listed_set_values_are_accepted_in_any_case(clients: Clients, resource_group: str, server: str) -> None:
    result = _set(clients, resource_group, server, "azure.extensions", "SSLINFO,pg_trgm")
    assert result.value == "sslinfo,pg_trgm"  # type: ignore[attr-defined]


def test_unknown_parameter_does_not_exist(clients: Clients, resource_group: str, server: str) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        clients.postgres.configurations.get(resource_group, server, "no_such_parameter")
    assert raised.value.error is not None and raised.value.error.code == "ConfigurationNotExists"


def test_reset_to_system_default(clients: Clients, resource_group: str, server: str) -> None:
    _set(clients, resource_group, server, "log_connections", "off")
    body = {"properties": {"source": "system-default"}}
    result = clients.postgres.configurations.begin_update(resource_group, server, "log_connections", body).result()
    assert result.source == "system-default"
    assert result.value == catalogue().get("log_connections").system_value  # type: ignore[union-attr]


TLS_RANGE_REFUSED = (
    "Invalid value given for parameter {name}. ssl_max_protocol_version 'TLSv1.2' is lower than "
    "ssl_min_protocol_version 'TLSv1.3': no TLS version would be left to connect with."
)


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [
        (("ssl_min_protocol_version", "TLSv1.3"), ("ssl_max_protocol_version", "TLSv1.2"), ""),
        (("ssl_max_protocol_version", "TLSv1.2"), ("ssl_min_protocol_version", "TLSv1.3"), "TLSv1.2"),
    ],
)
def test_a_tls_maximum_below_the_minimum_is_refused_in_either_order(
    clients: Clients,
    emulator: EmulatorHandle,
    resource_group: str,
    server: str,
    first: tuple[str, str],
    second: tuple[str, str],
    kept: str,
) -> None:
    _set(clients, resource_group, server, *first)
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as raised:
        _set(clients, resource_group, server, *second)
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "InvalidParameterValue"
    assert raised.value.error.message == TLS_RANGE_REFUSED.format(name=second[0])
    assert emulator.request_count() == 1  # refused at the request: no operation to poll
    get = clients.postgres.configurations.get
    assert get(resource_group, server, second[0]).value == kept
    # Widening the range again is accepted.
    _set(clients, resource_group, server, "ssl_max_protocol_version", "TLSv1.3")
    _set(clients, resource_group, server, "ssl_min_protocol_version", "TLSv1.3")
    assert get(resource_group, server, "ssl_min_protocol_version").value == "TLSv1.3"


MEMORY_DERIVED = ("max_connections", "shared_buffers", "effective_cache_size", "maintenance_work_mem")


@pytest.mark.parametrize(
    ("tier", "sku", "expected"),
    [
        # Microsoft's tables for 2, 16 and 32 GiB (server-parameter notes; "Limits in Azure Database for PostgreSQL").
        ("Burstable", "Standard_B1ms", ("50", "32768", "229376", "99328")),
        ("GeneralPurpose", "Standard_D4ds_v5", ("1718", "524288", "1572864", "274432")),
        ("MemoryOptimized", "Standard_E4ds_v5", ("3437", "1048576", "3145728", "332800")),
    ],
)
def test_defaults_derived_from_the_compute_memory(
    clients: Clients, resource_group: str, server_name: str, tier: str, sku: str, expected: tuple[str, ...]
) -> None:
    body = server_body(tier=tier, sku=sku)
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, body).result()
    listed = {c.name: c for c in clients.postgres.configurations.list_by_server(resource_group, server_name)}
    for name, value in zip(MEMORY_DERIVED, expected, strict=True):
        fetched = clients.postgres.configurations.get(resource_group, server_name, name)
        assert (fetched.value, fetched.default_value, fetched.source) == (value, value, "system-default"), name
        assert (listed[name].value, listed[name].default_value) == (value, value), name


def test_derived_defaults_keep_the_compute_the_server_was_created_with(
    clients: Clients, resource_group: str, server: str
) -> None:
    scaled = {"sku": {"name": "Standard_B2ms", "tier": "Burstable"}}
    clients.postgres.servers.begin_update(resource_group, server, scaled).result()
    assert clients.postgres.servers.get(resource_group, server).sku.name == "Standard_B2ms"  # type: ignore[union-attr]
    # As the service documents: later compute changes leave the default where provisioning put it.
    assert clients.postgres.configurations.get(resource_group, server, "max_connections").value == "50"


@pytest.mark.parametrize("version", ["12", "16"])
def test_documentation_links_are_for_the_servers_version(
    clients: Clients, resource_group: str, server_name: str, version: str
) -> None:
    body = server_body(version=version)
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, body).result()
    links = [
        c.documentation_link or ""
        for c in clients.postgres.configurations.list_by_server(resource_group, server_name)
        if "postgresql.org/docs/" in (c.documentation_link or "")
    ]
    assert len(links) > 300
    assert all(link.startswith(f"https://www.postgresql.org/docs/{version}/") for link in links)
    single = clients.postgres.configurations.get(resource_group, server_name, "ssl_min_protocol_version")
    assert single.documentation_link == (
        f"https://www.postgresql.org/docs/{version}/runtime-config-connection.html#GUC-SSL-MIN-PROTOCOL-VERSION"
    )
