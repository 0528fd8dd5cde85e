"""A value read from an environment variable never appears in a message, whichever key it lands in.

The variable holding the administrator password is the one people mistype into other keys, so every case
interpolates it; each message names the key and the variable instead of the value.
"""

from __future__ import annotations

import pytest

from pgflex.spec import SpecError, parse_spec

SENTINEL = "S3ntinel-Secret-Ü-1!"
VARIABLE = "PGFLEX_ADMIN_PASSWORD"
SECRET = "${" + VARIABLE + "}"

BASE = """\
apiVersion: pgflex/v1
environment:
  name: test
  cloud: local
  subscription: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg-test
  location: westeurope
servers:
  - name: pg-one
    version: "16"
    sku: {name: Standard_B1ms, tier: Burstable}
    storage: {sizeGb: 32}
    administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}
    tls: {minVersion: TLSv1.2}
    access: {public: {firewallRules: [{name: office, cidr: 192.0.2.0/24}]}}
"""

# (written in BASE, written instead, key path of the issue)
CASES = {
    "apiVersion": ("apiVersion: pgflex/v1", f'apiVersion: "{SECRET}"', "apiVersion"),
    "environment-name": ("name: test", f'name: "{SECRET}"', "environment.name"),
    "cloud": ("cloud: local", f'cloud: "{SECRET}"', "environment.cloud"),
    "subscription": (
        "subscription: 00000000-0000-0000-0000-000000000000",
        f'subscription: "{SECRET}"',
        "environment.subscription",
    ),
    "resource-group": ("resourceGroup: rg-test", f'resourceGroup: "{SECRET}"', "environment.resourceGroup"),
    "location": ("location: westeurope", f'location: "{SECRET}"', "environment.location"),
    "server-name": ("name: pg-one", f'name: "{SECRET}"', "servers[0].name"),
    "server-name-part": ("name: pg-one", f'name: "pg-{SECRET}"', "servers[0].name"),
    "version": ('version: "16"', f'version: "{SECRET}"', "servers[0].version"),
    "sku-name": ("name: Standard_B1ms", f'name: "{SECRET}"', "servers[0].sku"),  # checked with the tier
    "login": ("login: pgadmin", f'login: "{SECRET}"', "servers[0].administrator.login"),
    "from-env": (
        "fromEnv: PGFLEX_ADMIN_PASSWORD",
        f'fromEnv: "{SECRET}"',
        "servers[0].administrator.password.fromEnv",
    ),
    "key-vault-secret": (
        "fromEnv: PGFLEX_ADMIN_PASSWORD",
        f'keyVaultSecret: "{SECRET}"',
        "servers[0].administrator.password.keyVaultSecret",
    ),
    "tls-version": ("minVersion: TLSv1.2", f'minVersion: "{SECRET}"', "servers[0].tls.minVersion"),
    "rule-name": ("name: office", f'name: "{SECRET}"', "servers[0].access.public.firewallRules[0].name"),
    "rule-cidr": ("cidr: 192.0.2.0/24", f'cidr: "{SECRET}"', "servers[0].access.public.firewallRules[0].cidr"),
}


def _assert_secret_free(text: str) -> None:
    folded = text.casefold()
    for form in (SENTINEL, "S3ntinel", "Secret-Ü", "secret-\\xdc"):
        assert form.casefold() not in folded, text


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_interpolated_value_is_named_by_its_variable_not_shown(case: tuple[str, str, str]) -> None:
    written, instead, key_path = case
    assert written in BASE
    with pytest.raises(SpecError) as caught:
        parse_spec(BASE.replace(written, instead, 1), "env.yaml", {VARIABLE: SENTINEL})

    _assert_secret_free(str(caught.value))
    _assert_secret_free(repr(caught.value.issues))
    messages = [issue.message for issue in caught.value.issues if issue.key_path == key_path]
    assert messages, str(caught.value)
    assert any(VARIABLE in message for message in messages), str(caught.value)


def test_from_env_with_an_interpolation_says_to_write_the_name() -> None:
    text = BASE.replace("fromEnv: PGFLEX_ADMIN_PASSWORD", f'fromEnv: "{SECRET}"')
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "env.yaml", {VARIABLE: SENTINEL})
    assert str(caught.value) == (
        "env.yaml:13:57: servers[0].administrator.password.fromEnv: "
        "fromEnv takes the variable's name, not its value: write fromEnv: PGFLEX_ADMIN_PASSWORD"
    )


def test_the_message_names_the_key_and_the_variable() -> None:
    text = BASE.replace("location: westeurope", f'location: "{SECRET}"')
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "env.yaml", {VARIABLE: SENTINEL})
    assert str(caught.value) == (
        "env.yaml:7:13: environment.location: location the value of ${PGFLEX_ADMIN_PASSWORD} "
        "must be an Azure region name such as westeurope"
    )


def test_a_value_repeated_in_another_key_is_hidden_there_too() -> None:
    # The duplicate-name message of servers[1] quotes the name of servers[0].
    second = BASE[BASE.index("  - name: pg-one") :].replace("access: {public: {firewallRules: [{name: office", "")
    second = second.replace(", cidr: 192.0.2.0/24}]}}", "access: {public: {}}")
    text = (BASE + second).replace("name: pg-one", f'name: "pg-{SECRET}"')
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "env.yaml", {VARIABLE: SENTINEL})
    _assert_secret_free(str(caught.value))
    duplicate = [issue for issue in caught.value.issues if "duplicate server name" in issue.message]
    assert [issue.message for issue in duplicate] == [
        "duplicate server name the value of 'pg-${PGFLEX_ADMIN_PASSWORD}' (already used by servers[0])"
    ]


def test_a_piece_of_an_interpolated_id_is_not_quoted_either() -> None:
    subnet_id = f"/subscriptions/{SENTINEL}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    access = "access: {public: {firewallRules: [{name: office, cidr: 192.0.2.0/24}]}}"
    private = (
        'access: {private: {subnet: {id: "${SUBNET_ID}"}, '
        "privateDnsZone: {create: {name: one.private.postgres.database.azure.com}}}}"
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(BASE.replace(access, private), "env.yaml", {"SUBNET_ID": subnet_id})
    _assert_secret_free(str(caught.value))
    assert "the subscription in the subnet id is not a UUID" in str(caught.value)


def test_short_values_are_replaced_as_whole_words_only() -> None:
    text = BASE.replace('version: "16"', 'version: "${PG_VERSION}"').replace("sizeGb: 32", 'sizeGb: "${SIZE}"')
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "env.yaml", {"PG_VERSION": "16", "SIZE": "31"})
    (issue,) = caught.value.issues
    assert issue.message.startswith("storage size the value of ${SIZE} GiB is not offered by Azure")
    assert "16384" in issue.message  # "16" came from a variable too, but is not a word of this message
