"""Firewall-rule names as Azure takes them: the API's pattern, checked when the file is read, before any Azure
call, with a message naming file, line and key; the committed JSON Schema says the same.

Azure refuses names with dots, over 80 characters, starting with '_' or '-' or ending with '-' (400
InvalidParameterValue), so such a file would otherwise fail halfway through an apply.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from pgflex.spec import SpecError, parse_spec
from pgflex.spec.checks import FIREWALL_RULE_NAME_PATTERN
from pgflex.spec.model import PublicAccess
from support.armspec import PG_PRIMARY_FILE, PG_SPEC_DIR, default_specs_dir

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "infra" / "env.schema.json"
RULE_KEY = "servers[0].access.public.firewallRules[0].name"
DOCUMENT = """\
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
    access:
      public:
        firewallRules:
          - {name: "NAME", cidr: 192.0.2.0/24}
"""
RULE = "1 to 80 letters, digits, '-' or '_', starting with a letter or digit and not ending with '-'"

# Per case of the API's pattern: a name Azure takes, and one it refuses with the reason pgflex gives.
ACCEPTED = {
    "dot": "my-office",
    "length": "r" * 80,
    "first-underscore": "office_",
    "first-hyphen": "o-ffice",
    "last-hyphen": "office-1",
    "other-character": "Office_2",
    "one-character": "7",
}
REFUSED = {
    "dot": ("my.office", "contains '.'"),
    "length": ("r" * 81, "is longer than 80 characters"),
    "first-underscore": ("_office", "does not start with a letter or digit"),
    "first-hyphen": ("-office", "does not start with a letter or digit"),
    "last-hyphen": ("office-", "ends with '-'"),
    "other-character": ("my office", "contains a character other than a letter, digit, '-' or '_'"),
    "one-character": ("-", "does not start with a letter or digit"),
}
assert ACCEPTED.keys() == REFUSED.keys()


def _text(name: str) -> str:
    return DOCUMENT.replace("NAME", name)


def _schema_accepts(name: str) -> bool:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema).is_valid(YAML(typ="safe").load(_text(name)))


@pytest.mark.parametrize("case", ACCEPTED)
def test_a_name_azure_takes_is_read_as_written(case: str) -> None:
    name = ACCEPTED[case]
    environment = parse_spec(_text(name), "env.yaml", {})
    access = environment.servers[0].access
    assert isinstance(access, PublicAccess)
    assert [rule.name for rule in access.firewall_rules] == [name]
    assert _schema_accepts(name)


@pytest.mark.parametrize("case", REFUSED)
def test_a_name_azure_refuses_is_one_issue_at_its_place(case: str) -> None:
    name, reason = REFUSED[case]
    with pytest.raises(SpecError) as caught:
        parse_spec(_text(name), "env.yaml", {})
    (issue,) = caught.value.issues
    assert str(issue) == f"env.yaml:17:20: {RULE_KEY}: firewall rule name {name!r} {reason}; Azure takes {RULE}"
    assert not _schema_accepts(name)


def test_the_pattern_is_the_apis_and_the_schemas() -> None:
    openapi = json.loads((default_specs_dir() / PG_SPEC_DIR / PG_PRIMARY_FILE).read_text(encoding="utf-8"))
    operations = openapi["paths"][next(path for path in openapi["paths"] if path.endswith("/{firewallRuleName}"))]
    patterns = {
        parameter["pattern"]
        for method in ("get", "put", "delete")
        for parameter in operations[method]["parameters"]
        if parameter.get("name") == "firewallRuleName"
    }
    assert patterns == {FIREWALL_RULE_NAME_PATTERN}
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$defs"]["FirewallRuleSpec"]["properties"]["name"]["pattern"] == FIREWALL_RULE_NAME_PATTERN
