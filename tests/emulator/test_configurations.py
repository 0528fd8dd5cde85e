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


def test_update_keeps_the_users_spelling(clients: Clients, resource_group: str, server: str) -> None:
    updated = _set(clients, resource_group, server, "log_connections", "ON")
    assert updated.value == "ON"  # type: ignore[attr-defined]
    assert updated.source == "user-override"  # type: ignore[attr-defined]
    fetched = clients.postgres.configurations.get(resource_group, server, "log_connections")
    assert fetched.value == "ON"


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
    assert result.value == "SSLINFO,pg_trgm"  # type: ignore[attr-defined]


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
