"""The policy ``pgflex audit`` judges servers against: pgflex's own defaults, or a YAML file (``--policy``).

A policy file is validated completely before any Azure call, like env.yaml: every problem is a ``SpecIssue``
naming the file, line, column and key, raised together as a ``SpecError``. Without a file the policy is what
pgflex enforces on the servers it manages (``pgflex.spec``): secure transport required, TLS 1.2 at least
(RFC 8996), no firewall rule open to the whole internet; and, as an audit of estates pgflex did not build,
the "allow Azure services" rule flagged.

    apiVersion: pgflex/v1
    kind: AuditPolicy
    tls: {requireSecureTransport: true, minVersion: TLSv1.3, lowestMaxVersion: null}
    network: {publicNetworkAccess: allowed, allowAzureServices: false, widestRulePrefix: 16}
    managed: {required: false}
    severity: {PGF006: note}
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pgflex.spec.base import SpecModel
from pgflex.spec.constants import API_VERSION, MIN_SAFE_TLS, TlsVersion
from pgflex.spec.document import TlsSpec
from pgflex.spec.errors import SpecError, SpecIssue
from pgflex.spec.fields import OptionalTlsVersionSetting, TlsVersionSetting
from pgflex.spec.rules import Loc
from pgflex.spec.source_map import SourceMap
from pgflex.spec.yaml_reader import parse_yaml, read_spec_text

POLICY_KIND = "AuditPolicy"
DEFAULT_SOURCE = "pgflex defaults"

RuleId = Literal["PGF001", "PGF002", "PGF003", "PGF004", "PGF005", "PGF006", "PGF007", "PGF008"]
RULE_IDS: tuple[RuleId, ...] = get_args(RuleId)
Severity = Literal["error", "warning", "note"]

_PGFLEX_TLS = TlsSpec()  # the TLS policy pgflex writes when a spec says nothing


class TlsExpectations(SpecModel):
    """What every server's TLS parameters must say."""

    require_secure_transport: bool = Field(
        _PGFLEX_TLS.require_secure_transport,
        description="require_secure_transport must be on (PGF001). Default true, as pgflex sets it.",
    )
    min_version: TlsVersionSetting = Field(
        MIN_SAFE_TLS,
        description="ssl_min_protocol_version must be at least this (PGF002). Default TLSv1.2, the lowest pgflex "
        "accepts without an exception (RFC 8996).",
    )
    lowest_max_version: OptionalTlsVersionSetting = Field(
        None,
        description="A server that caps TLS (ssl_max_protocol_version) must cap it at this version or above "
        "(PGF003); no cap is always fine. Default null: the cap may not be below minVersion.",
    )

    @property
    def lowest_cap(self) -> TlsVersion:
        """The lowest ssl_max_protocol_version a server may set."""
        return self.lowest_max_version or self.min_version


class NetworkExpectations(SpecModel):
    """What every server's network access must look like."""

    public_network_access: Literal["allowed", "denied"] = Field(
        "allowed", description="denied: a server with public network access enabled is a finding (PGF007)."
    )
    allow_azure_services: bool = Field(
        False,
        description="false: the 0.0.0.0-0.0.0.0 rule (any Azure service, any tenant's, may connect) is a finding "
        "(PGF006).",
    )
    widest_rule_prefix: int | None = Field(
        None,
        ge=1,
        le=32,
        description="A firewall rule wider than a CIDR block of this prefix length is a finding (PGF005): 16 allows "
        "at most 65,536 addresses per rule. Default null: only rules open to every IPv4 address are (PGF004).",
    )


class ManagedExpectations(SpecModel):
    """Whether every server must be one pgflex manages (the managed-by tag it sets on what it creates)."""

    required: bool = Field(False, description="true: a server pgflex does not manage is a finding (PGF008).")


class AuditPolicy(SpecModel):
    """The expectations an audit judges every server against, and the severity of each rule."""

    tls: TlsExpectations = Field(default_factory=TlsExpectations)
    network: NetworkExpectations = Field(default_factory=NetworkExpectations)
    managed: ManagedExpectations = Field(default_factory=ManagedExpectations)
    severity: dict[RuleId, Severity] = Field(
        default_factory=dict, description="A severity per rule id (error, warning or note), replacing its default."
    )


class _PolicyFile(AuditPolicy):
    api_version: str
    kind: Literal["AuditPolicy"]

    @field_validator("api_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value != API_VERSION:
            raise ValueError(f"unsupported apiVersion {value!r}; this pgflex reads {API_VERSION}")
        return value


def load_policy(path: str | Path) -> AuditPolicy:
    """The policy in the YAML file at ``path``; SpecError naming file, line, column and key for any problem."""
    file = str(path)
    source = SourceMap(file)
    data = _plain(parse_yaml(read_spec_text(path), file), (), source)
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(file, 1, 1, "", f"the file must hold a mapping (apiVersion, kind: {POLICY_KIND})")])
    try:
        document = _PolicyFile.model_validate(data)
    except ValidationError as invalid:
        raise SpecError([_issue(error, source) for error in invalid.errors()]) from None
    return AuditPolicy.model_validate(document.model_dump(exclude={"api_version", "kind"}))


def _plain(node: Any, loc: Loc, source: SourceMap) -> Any:
    """ruamel.yaml's round-trip nodes as plain values, each key's and value's position recorded in ``source``."""
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            try:
                source.key_positions[child], source.value_positions[child] = node.lc.key(key), node.lc.value(key)
            except KeyError:  # inherited through a YAML merge key: point at the mapping
                source.key_positions[child] = source.value_positions[child] = (node.lc.line, node.lc.col)
            result[str(key)] = _plain(value, child, source)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for position, value in enumerate(node):
            child = (*loc, position)
            source.key_positions[child] = source.value_positions[child] = node.lc.item(position)
            items.append(_plain(value, child, source))
        return items
    if isinstance(node, bool) or node is None:
        return node
    for plain in (int, float, str):  # ruamel's ScalarInt, ScalarFloat and styled strings
        if isinstance(node, plain):
            return plain(node)
    return node


def _issue(error: Any, source: SourceMap) -> SpecIssue:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] == "[key]":
        rules = ", ".join(RULE_IDS)
        return source.issue(loc[:-1], f"unknown rule {loc[-2]!r}; the rules are {rules}", at_key=True)
    if kind == "missing":
        return source.issue(loc[:-1], f"missing required key {loc[-1]!r}", at_key=True)
    if kind == "extra_forbidden":
        allowed = _keys_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(allowed)})"
        return source.issue(loc, f"unknown key {loc[-1]!r}{hint}", at_key=True)
    message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "expected")
    if kind == "literal_error":
        message = f"{message}, got {error.get('input')!r}"
    return source.issue(loc, message)


def _keys_at(loc: Loc) -> list[str]:
    """The keys the policy file allows in the mapping at ``loc``."""
    model: type[BaseModel] = _PolicyFile
    for part in loc:
        fields = {field.alias or name: field.annotation for name, field in model.model_fields.items()}
        annotation = fields.get(str(part))
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [field.alias or name for name, field in model.model_fields.items()]


__all__ = ["DEFAULT_SOURCE", "RULE_IDS", "AuditPolicy", "RuleId", "Severity", "load_policy"]
