"""Load `env.yaml`: parse with positions, interpolate `${VAR}`, validate, merge defaults, normalise.

Every problem becomes a `SpecIssue` naming file, line, column and key path. Positions come from
ruamel.yaml's round-trip nodes; pydantic's error locations (which use the YAML keys, since every model
is validated by alias) are mapped back to them through a `SourceMap`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pgflex.spec.constants import API_VERSION
from pgflex.spec.digest import text_digest, top_level_digests
from pgflex.spec.document import EnvironmentSpec, ServerSpec, SpecDocument
from pgflex.spec.errors import SpecError, SpecIssue
from pgflex.spec.expiry import expired_findings
from pgflex.spec.findings import Finding, Loc
from pgflex.spec.model import (
    Environment,
    Server,
    SourceLocation,
)
from pgflex.spec.redaction import Interpolation, redact_issues
from pgflex.spec.resolve import resolve_server
from pgflex.spec.rules import check_server, check_unique_server_names, parameter_findings
from pgflex.spec.source_map import SourceMap, format_key_path
from pgflex.spec.yaml_reader import parse_yaml, read_spec_text

ModelT = TypeVar("ModelT", bound=BaseModel)

# ${NAME} reads an environment variable; $${ escapes a literal "${".
_INTERPOLATION = re.compile(r"\$\$\{|\$\{([^}]*)\}?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Where a variable's name is expected: interpolating there would put the password itself in its place.
_PASSWORD_VARIABLE: Loc = ("password", "fromEnv")

# Replaced whole by a server's own value, where merging key by key could pair one SKU's name with another's
# tier, two password sources, a custom window's day with `systemManaged`, or a standby zone with mode Disabled.
_REPLACED_WHOLE = frozenset({"sku", "administrator", "highAvailability", "maintenanceWindow"})


def load_spec(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    *,
    defer_catalogue: bool = False,
    today: date | None = None,
) -> Environment:
    """Load, validate and normalise an environment file. Raises `SpecError` listing every issue found.

    Files beyond the bounds of `pgflex.spec.limits` (size, nesting, alias expansion, integer length) are
    refused; no message quotes a value read from an environment variable (`pgflex.spec.redaction`).
    ``defer_catalogue``: when the shipped parameter catalogue's findings are the only problems, return the
    environment with them in ``catalogue_issues`` (plan, apply and drift report them as plan errors together
    with what Azure tells them, so that one run lists everything); policy exceptions past their ``expires``
    (as of ``today``, default the calendar's) are deferred the same way, into ``expired_exceptions``.
    """
    return parse_spec(read_spec_text(path), str(path), env, defer_catalogue=defer_catalogue, today=today)


def parse_spec(
    text: str,
    file: str = "<string>",
    env: Mapping[str, str] | None = None,
    *,
    defer_catalogue: bool = False,
    today: date | None = None,
) -> Environment:
    """Like `load_spec`, from text; `file` only labels messages."""
    source = SourceMap(file)
    try:
        validation = _parse(text, source, os.environ if env is None else env, defer_catalogue, today)
        environment, deferred = validation.environment, {}
        for key, found in (("catalogue_issues", validation.deferred), ("expired_exceptions", validation.expired)):
            if found:
                deferred[key] = tuple(map(str, redact_issues(found, source.interpolations.values())))
        return environment.model_copy(update=deferred) if deferred else environment
    except SpecError as error:
        issues = error.issues
    # Every issue leaves through here, and outside the except block: the unredacted error is not chained.
    raise SpecError(redact_issues(issues, source.interpolations.values()))


def _parse(
    text: str, source: SourceMap, env: Mapping[str, str], defer_catalogue: bool, today: date | None
) -> _Validation:
    root = parse_yaml(text, source.file)
    issues: list[SpecIssue] = []
    data = _to_plain(root, (), source, env, issues)
    if not isinstance(data, dict):
        raise SpecError(
            [
                *issues,
                SpecIssue(source.file, 1, 1, "", "the file must hold a mapping (apiVersion, environment, ...)"),
            ]
        )
    _check_api_version(data, source)
    # Top-level x-* keys are free-form extensions, e.g. a home for YAML anchors.
    data = {key: value for key, value in data.items() if not key.startswith("x-")}
    validation = _Validation(data, source, issues, defer_catalogue=defer_catalogue, today=today)
    digests = {"source_digest": text_digest(text), "source_keys": top_level_digests(root)}
    validation.environment = validation.run().model_copy(update=digests)
    return validation


# --------------------------------------------------------------------------------------------------
# YAML and interpolation.
# --------------------------------------------------------------------------------------------------


def _to_plain(node: Any, loc: Loc, source: SourceMap, env: Mapping[str, str], issues: list[SpecIssue]) -> Any:
    """Convert ruamel nodes to plain Python values, recording positions and interpolating strings."""
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            source.key_positions[child], source.value_positions[child] = _entry_position(node, key)
            result[str(key)] = _to_plain(value, child, source, env, issues)
        return result
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for position, value in enumerate(node):
            child = (*loc, position)
            source.key_positions[child] = source.value_positions[child] = node.lc.item(position)
            items.append(_to_plain(value, child, source, env, issues))
        return items
    if isinstance(node, str):
        return _interpolate(str(node), loc, source, env, issues)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)  # ruamel's ScalarInt and friends
    if isinstance(node, float):
        return float(node)
    return node


def _entry_position(node: CommentedMap, key: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    try:
        return node.lc.key(key), node.lc.value(key)
    except KeyError:  # inherited through a YAML merge key (<<: *anchor): point at the mapping
        return (node.lc.line, node.lc.col), (node.lc.line, node.lc.col)


def _interpolate(text: str, loc: Loc, source: SourceMap, env: Mapping[str, str], issues: list[SpecIssue]) -> str:
    variables: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if not match.group(0).endswith("}") or not _ENV_NAME.fullmatch(name):
            source.broken.add(loc)
            issues.append(source.issue(loc, f"malformed interpolation {match.group(0)!r}; write ${{NAME}}"))
            return ""
        if loc[-2:] == _PASSWORD_VARIABLE and not str(loc[0]).startswith("x-"):
            source.broken.add(loc)
            issues.append(source.issue(loc, f"fromEnv takes the variable's name, not its value: write fromEnv: {name}"))
            return ""
        if name not in env:
            source.broken.add(loc)
            issues.append(source.issue(loc, f"environment variable {name} is not set (used as ${{{name}}})"))
            return ""
        variables.append((name, env[name]))
        return env[name]

    value = _INTERPOLATION.sub(replace, text)
    if variables:
        source.interpolations[loc] = Interpolation(text, value, tuple(variables))
    return value


def _check_api_version(data: dict[str, Any], source: SourceMap) -> None:
    # Checked first and alone: a file in another format version would only produce noise below.
    version = data.get("apiVersion")
    if "apiVersion" not in data:
        raise SpecError([source.issue((), f"missing required key 'apiVersion' (expected {API_VERSION})")])
    if version != API_VERSION:
        raise SpecError(
            [source.issue(("apiVersion",), f"unsupported apiVersion {version!r}; this pgflex reads {API_VERSION}")]
        )


# --------------------------------------------------------------------------------------------------
# Validation: the document, then each server merged with the defaults, then the rules.
# --------------------------------------------------------------------------------------------------


def _keys_at(loc: Loc) -> list[str]:
    """The keys the format allows in the mapping at `loc` (for "did you mean" hints)."""
    annotation: Any = SpecDocument
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            continue  # a list item: _unwrap already reached the item type
        fields = _fields_of(annotation)
        if part not in fields:
            return []
        annotation = fields[part]
    return list(_fields_of(_unwrap(annotation)))


def _fields_of(annotation: Any) -> dict[str, Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # Excluded fields exist only to give a mistake a specific message; never suggest them.
        fields = annotation.model_fields.items()
        return {info.alias or name: info.annotation for name, info in fields if not info.exclude}
    return {}


def _unwrap(annotation: Any) -> Any:
    """Peel Optional, Annotated and list[...] off an annotation, down to a model class if there is one."""
    while not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        origin = get_origin(annotation)
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if origin not in (Annotated, list, Union, UnionType) or not args:
            break
        annotation = args[0]
    return annotation


_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
}


def _describe(value: object) -> str:
    return "null" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)


def _issues_from(exc: ValidationError, base: Loc, source: SourceMap) -> list[SpecIssue]:
    return [
        _issue_from_error(error, base, source)
        for error in exc.errors()
        if source.unalias(base + tuple(error["loc"])) not in source.broken
    ]


def _issue_from_error(error: Mapping[str, Any], base: Loc, source: SourceMap) -> SpecIssue:
    loc: Loc = base + tuple(error["loc"])
    kind, value = error["type"], error.get("input")
    if loc and loc[-1] == "[key]":  # a bad mapping key: point at the key itself
        return source.issue(loc[:-1], _clean_message(error["msg"]), at_key=True)
    if kind == "missing":
        return source.issue(loc[:-1], f"missing required key {loc[-1]!r}", at_key=True)
    if kind == "extra_forbidden":
        return source.issue(loc, _unknown_key_message(loc), at_key=True)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return source.issue(loc, f"expected a mapping, got {_describe(value)}")
    if kind == "list_type":
        return source.issue(loc, f"expected a list, got {_describe(value)}")
    if kind == "string_type":
        return source.issue(loc, f"expected a string, got {_describe(value)}")
    if kind == "too_short" and loc == ("servers",):
        return source.issue(loc, "declare at least one server")
    if kind == "literal_error":
        return source.issue(loc, f"{_clean_message(error['msg'])}, got {value!r}")
    return source.issue(loc, _clean_message(error["msg"]))


def _unknown_key_message(loc: Loc) -> str:
    allowed = _keys_at(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key {loc[-1]!r}; did you mean {close[0]!r}?"
    return f"unknown key {loc[-1]!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")


def _clean_message(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message.replace("Input should be", "expected")


class _Validation:
    """One pass over a document, collecting every issue it can find."""

    def __init__(
        self,
        data: dict[str, Any],
        source: SourceMap,
        issues: list[SpecIssue],
        *,
        defer_catalogue: bool = False,
        today: date | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.issues = issues
        self.defer_catalogue = defer_catalogue
        self.today = today
        self.deferred: list[SpecIssue] = []  # the catalogue's findings, when deferred to plan
        self.expired: list[SpecIssue] = []  # lapsed policy exceptions, deferred to plan the same way
        self.environment: Environment  # set once run() succeeds

    def run(self) -> Environment:
        try:
            SpecDocument.model_validate(self.data)
            bad: set[Loc] = set()
        except ValidationError as exc:
            self.issues += _issues_from(exc, (), self.source)
            bad = {tuple(error["loc"][:2]) for error in exc.errors()}
        environment = self._part(EnvironmentSpec, "environment", bad)
        defaults_valid = not any(loc[:1] == ("defaults",) for loc in bad)
        raw_servers = self.data.get("servers")
        raw_servers = raw_servers if isinstance(raw_servers, list) else []
        names = [(index, item["name"]) for index, item in enumerate(raw_servers) if _has_string_name(item)]
        self._report(check_unique_server_names(names))
        servers: list[Server] = []
        if environment is not None and defaults_valid:
            server_names = [name for _, name in names]
            for index, raw in enumerate(raw_servers):
                if ("servers", index) not in bad and ("servers",) not in bad:
                    server = self._server(index, raw, environment, server_names)
                    if server is not None:
                        servers.append(server)
        if self.issues:
            raise SpecError([*self.issues, *self.deferred, *self.expired])  # a broken file: every problem
        assert environment is not None  # no issues means every part validated
        return Environment(
            api_version=API_VERSION,
            name=environment.name,
            cloud=environment.cloud,
            subscription=environment.subscription,
            resource_group=environment.resource_group,
            location=environment.location,
            tenant=environment.tenant,
            servers=tuple(servers),
            source=self.source.file,
        )

    def _part(self, model: type[ModelT], key: str, bad: set[Loc]) -> ModelT | None:
        if any(bad_loc[:1] == (key,) for bad_loc in bad):
            return None
        try:
            return model.model_validate(self.data.get(key))
        except ValidationError:  # already reported by the whole-document pass
            return None

    def _report(self, findings: list[Finding], into: list[SpecIssue] | None = None) -> None:
        (self.issues if into is None else into).extend(
            self.source.issue(f.loc, f.message, at_key=f.at_key) for f in findings
        )

    def _server(
        self, index: int, raw: dict[str, Any], environment: EnvironmentSpec, server_names: list[str]
    ) -> Server | None:
        loc: Loc = ("servers", index)
        defaults = self.data.get("defaults") or {}
        merged = _merge(defaults, raw, loc, ("defaults",), self.source.aliases)
        if "administrator" not in raw and _password_off(merged):
            # An Entra-only server needs no password: the defaults' administrator is for the other servers.
            merged.pop("administrator", None)
        try:
            spec = ServerSpec.model_validate(merged)
        except ValidationError as exc:  # only a merge can make a valid server invalid here
            self.issues += _issues_from(exc, loc, self.source)
            return None
        verdict = check_server(index, spec, environment, server_names, check_parameters=not self.defer_catalogue)
        self._report(verdict.findings)
        if self.defer_catalogue:
            self._report(parameter_findings(index, spec), into=self.deferred)
        self._report(expired_findings(index, spec, self.today), into=self.expired if self.defer_catalogue else None)
        return None if verdict.findings else resolve_server(spec, verdict, loc, self.source, environment)


def _password_off(server: dict[str, Any]) -> bool:
    authentication = server.get("authentication")
    return isinstance(authentication, dict) and authentication.get("password") is False


def _has_string_name(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), str)


def _merge(
    defaults: dict[str, Any],
    server: dict[str, Any],
    server_loc: Loc,
    defaults_loc: Loc,
    aliases: dict[Loc, Loc],
) -> dict[str, Any]:
    """Deep-merge `defaults` under `server` (server wins), recording where inherited values were written."""
    merged = dict(server)
    for key, default in defaults.items():
        own = server.get(key, _ABSENT)
        if own is _ABSENT:
            merged[key] = default
            aliases[(*server_loc, key)] = (*defaults_loc, key)
        elif isinstance(own, dict) and isinstance(default, dict) and key not in _REPLACED_WHOLE:
            merged[key] = _merge(default, own, (*server_loc, key), (*defaults_loc, key), aliases)
    return merged


_ABSENT = object()


# --------------------------------------------------------------------------------------------------
# Secrets: resolved on demand, never stored in the model.
# --------------------------------------------------------------------------------------------------


def resolve_password(server: Server, env: Mapping[str, str] | None = None) -> str:
    """Read the administrator password of `server` from its source.

    Only environment variables are resolved here; Key Vault references are resolved by the azure
    layer (the spec layer does no network I/O).
    """
    administrator = server.administrator
    if administrator is None:
        raise SpecError(
            [
                _secret_issue(
                    server.origin,
                    f"server {server.name!r} has no administrator (password authentication is off)",
                )
            ]
        )
    ref = administrator.password
    if ref.env_var is None:
        raise SpecError(
            [
                _secret_issue(
                    ref.origin,
                    f"{ref.describe()}: Key Vault resolution is done by the azure layer, not the spec layer",
                )
            ]
        )
    environment = os.environ if env is None else env
    value = environment.get(ref.env_var)
    if not value:
        raise SpecError(
            [
                _secret_issue(
                    ref.origin,
                    f"environment variable {ref.env_var} is not set; it holds the administrator password "
                    f"of server {server.name!r}",
                )
            ]
        )
    return value


def _secret_issue(origin: SourceLocation, message: str) -> SpecIssue:
    return SpecIssue(origin.file, origin.line, origin.column, origin.key_path, message)


__all__ = ["SourceMap", "format_key_path", "load_spec", "parse_spec", "resolve_password"]
