"""The library's promises: result attributes named like their JSON keys, derived environments validated like
the file, and every failure a PgflexError (Azure's included, its cause kept)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from pgflex import api
from pgflex.drift import Difference, DriftReport
from pgflex.engine.apply import ApplyResult
from pgflex.engine.plan import Action, Change, Kind, Plan, PolicyException, ServerPlan
from pgflex.outcomes import ApplyReport, DestroyReport
from pgflex.spec import SpecError, load_spec
from pgflex.verify.checks import Check, Endpoint, ServerReport, ServerSessions, SessionsReport, VerifyReport

ROOT = Path(__file__).resolve().parents[1]
# Fields whose content the document spreads over keys of its own (writes, restarted, pendingRestart, failures),
# each also an attribute of the report: the one exception to "a field is a key".
SPREAD = {(ApplyReport, "result"), (DriftReport, "result")}
# Not data of the document: whether a plan was read from a saved file (apply then plans again, see Plan.saved).
PROVENANCE = {(Plan, "saved")}
HEADER = {"kind", "formatVersion"}  # every document's, constants rather than data


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _results() -> list[Any]:
    change = Change(Kind.PARAMETER, "ssl_min_protocol_version", Action.UPDATE, "differs", "TLSv1.2", "TLSv1.3")
    server_plan = ServerPlan("pg-a", (change,), (PolicyException("open-to-internet", "demo"),))
    plan = Plan("dev", "local", "sub", "rg", "env.yaml", "sha256:0", (), (server_plan,))
    fqdn = "pg-a.postgres.database.azure.com"
    endpoint = Endpoint(fqdn, fqdn, "127.0.0.1", 5432, "dns", namespace="pgflex-vnet")  # namespace: only when set
    check = Check("pg-a", "tls-session", "pass", "TLSv1.3", {"protocol": "TLSv1.3"})
    verify = VerifyReport("dev", "local", "env.yaml", (ServerReport("pg-a", endpoint, (check,)),))
    row = {"backendType": "client backend", "ssl": True, "clientAddress": "127.0.0.1"}
    sessions = SessionsReport("dev", "local", (ServerSessions("pg-a", endpoint, "pass", "", (row,)),))
    result = ApplyResult(plan, final_plan=dataclasses.replace(plan, servers=()), writes=1)
    return [
        plan,
        ApplyReport(plan, result, verify),
        DriftReport(plan, result, verify, repair=True),
        DestroyReport("dev", "local", "env.yaml", ["server pg-a"]),
        sessions,
        Difference("pg-a", "parameter", "ssl_min_protocol_version", "update", "differs"),
    ]


def _mismatches(result: Any) -> list[str]:
    """Every field that is not a key of its document and every key that is not an attribute, nested included."""
    document = result.to_dict()
    kind = type(result).__name__
    found = [
        f"{kind}.{field.name}"
        for field in dataclasses.fields(result)
        if _camel(field.name) not in document and (type(result), field.name) not in SPREAD | PROVENANCE
    ]
    found += [f"{kind}: {key}" for key in document if key not in HEADER and not hasattr(result, _snake(key))]
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        for item in value if isinstance(value, tuple | list) else [value]:
            if dataclasses.is_dataclass(item) and hasattr(item, "to_dict"):
                found += _mismatches(item)
    return found


@pytest.mark.parametrize("result", _results(), ids=lambda result: type(result).__name__)
def test_result_attributes_are_named_like_their_json_keys(result: Any) -> None:
    assert _mismatches(result) == []


def test_the_walk_finds_an_attribute_named_unlike_its_key() -> None:
    @dataclasses.dataclass(frozen=True)
    class Listing:
        rows: tuple[str, ...]

        def to_dict(self) -> dict[str, Any]:
            return {"sessions": list(self.rows)}

    assert _mismatches(Listing(("a",))) == ["Listing.rows", "Listing: sessions"]


def test_a_derived_environment_is_validated_like_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", "unused")
    env = load_spec(ROOT / "infra" / "local.yaml")
    raised = env.with_tls(min_version="TLSv1.3")
    assert {server.tls.min_version for server in raised.servers} == {"TLSv1.3"}
    assert env.servers[0].replace(tls={"max_version": "TLSv1.3"}).tls.max_version == "TLSv1.3"
    with pytest.raises(SpecError, match=r"servers\[0\]\.tls\.minVersion: 'TLSv9' is not allowed: expected 'TLSv1'"):
        env.with_tls(min_version="TLSv9")
    with pytest.raises(SpecError, match=r"tls\.minVersion: 'TLSv9' is not allowed"):
        env.servers[0].replace(tls={"min_version": "TLSv9"})
    # A model_copy'd part, which pydantic did not validate, is validated when it goes in.
    unchecked = env.servers[0].tls.model_copy(update={"min_version": "TLSv9"})
    with pytest.raises(SpecError, match="'TLSv9' is not allowed"):
        env.replace(servers=[env.servers[0].replace(tls=unchecked)])
    with pytest.raises(SpecError, match=r"minVersion TLSv1\.1 is below TLSv1\.2.*exception \{rule: tls-below-1\.2"):
        env.with_tls(min_version="TLSv1.1")
    with pytest.raises(SpecError, match=r"minVersion TLSv1\.3 is above maxVersion TLSv1\.2"):
        env.with_tls(min_version="TLSv1.3", max_version="TLSv1.2")
    with pytest.raises(SpecError, match=r"nonsense: unknown key"):
        env.servers[0].replace(nonsense=True)


def test_a_library_call_without_credentials_raises_a_pgflex_error_with_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_", "PGFLEX_EMULATOR")) or name == "REQUESTS_CA_BUNDLE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "az"))
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", "unused")
    with pytest.raises(api.AzureError) as raised:
        api.drift(ROOT / "infra" / "public.yaml")
    error = raised.value
    assert isinstance(error, api.PgflexError) and isinstance(error.__cause__, ClientAuthenticationError)
    assert str(error).startswith("no Azure credentials are configured") and "\n" not in str(error)
    assert error.message and error.code is None  # no answer came: nothing signed in
