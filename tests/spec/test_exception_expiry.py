"""Break-glass with an end: a policy exception's ``expires`` date, with "today" pinned by the caller."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from pgflex.spec import SpecError, parse_spec

EXPIRES = date(2027, 1, 31)

SPEC = """\
apiVersion: pgflex/v1
environment:
  name: test
  cloud: local
  subscription: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg-test
  location: westeurope
servers:
  - name: pg-test
    version: "16"
    sku: {name: Standard_B1ms, tier: Burstable}
    storage: {sizeGb: 32}
    administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}
    access: {public: {firewallRules: []}}
    tls: {minVersion: TLSv1.1}
    exceptions:
      - rule: tls-below-1.2
        reason: a legacy client, until it is replaced
        expires: EXPIRES
"""


def _text(expires: str = "2027-01-31", extra: str = "") -> str:
    return SPEC.replace("EXPIRES", expires) + textwrap.indent(extra, "    ")


def test_an_exception_waives_its_rule_until_the_day_it_expires() -> None:
    env = parse_spec(_text(), "env.yaml", {}, today=date(2027, 1, 30))
    (server,) = env.servers
    assert server.exceptions[0].expires == EXPIRES
    assert [applied.rule for applied in server.applied_exceptions] == ["tls-below-1.2"]
    assert env.expired_exceptions == ()


@pytest.mark.parametrize(("today", "ago"), [(date(2027, 1, 31), "today"), (date(2027, 2, 1), "1 day ago")])
def test_from_its_date_on_an_expired_exception_is_an_error_at_its_expires_key(today: date, ago: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(_text(), "env.yaml", {}, today=today)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.column, issue.key_path) == (
        "env.yaml",
        19,
        9,
        "servers[0].exceptions[0].expires",
    )
    assert issue.message == (
        f"exception tls-below-1.2 expired on 2027-01-31 ({ago}): renew it with a new date and reason, or remove it"
    )


def test_deferred_for_plan_the_environment_loads_and_carries_the_expiry_as_a_plan_error() -> None:
    env = parse_spec(_text(), "env.yaml", {}, defer_catalogue=True, today=date(2027, 3, 2))
    assert env.expired_exceptions == (
        "env.yaml:19:9: servers[0].exceptions[0].expires: exception tls-below-1.2 expired on 2027-01-31 "
        "(30 days ago): renew it with a new date and reason, or remove it",
    )
    assert env.catalogue_issues == ()


def test_a_file_broken_elsewhere_lists_the_expired_exception_with_the_rest() -> None:
    text = _text(extra="highAvailability: {mode: SameZone}\n")  # not on the Burstable tier
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "env.yaml", {}, defer_catalogue=True, today=date(2028, 1, 1))
    paths = [issue.key_path for issue in caught.value.issues]
    assert "servers[0].highAvailability.mode" in paths
    assert "servers[0].exceptions[0].expires" in paths


def test_a_date_read_from_a_variable_or_quoted_is_a_date_too() -> None:
    env = parse_spec(_text("${UNTIL}"), "env.yaml", {"UNTIL": "2027-01-31"}, today=date(2026, 1, 1))
    assert env.servers[0].exceptions[0].expires == EXPIRES
    env = parse_spec(_text('"2027-01-31"'), "env.yaml", {}, today=date(2026, 1, 1))
    assert env.servers[0].exceptions[0].expires == EXPIRES


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2027-02-30", "'2027-02-30' is not a calendar date"),
        ("2027-01-31T10:00:00", "expected a date written YYYY-MM-DD"),
        ("86400", "expected a date written YYYY-MM-DD, such as 2027-01-31, got 86400"),
        ("31/01/2027", "expected a date written YYYY-MM-DD"),
    ],
)
def test_anything_but_a_calendar_date_is_refused_at_the_value(written: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(_text(written), "env.yaml", {}, today=date(2026, 1, 1))
    (issue,) = caught.value.issues
    assert (issue.line, issue.column, issue.key_path) == (19, 18, "servers[0].exceptions[0].expires")
    assert message in issue.message


def test_without_expires_an_exception_never_lapses() -> None:
    text = _text().replace("        expires: EXPIRES\n", "").replace("        expires: 2027-01-31\n", "")
    env = parse_spec(text, "env.yaml", {}, today=date(2999, 1, 1))
    assert env.servers[0].exceptions[0].expires is None
