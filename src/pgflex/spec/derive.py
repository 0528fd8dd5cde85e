"""Deriving a changed environment or server from a loaded one, validated as loading validates.

pydantic's ``model_copy(update=...)`` skips validation: a TLS minimum of ``"TLSv9"`` reached a plan with no
error. Here the changed model is rebuilt from plain data, so every field check runs again, and the spec's TLS
policy is checked again (a minimum below TLSv1.2 needs its exception, the minimum may not exceed the maximum,
Azure's clouds accept only TLSv1.2 and TLSv1.3 as a minimum). Anything refused is a ``SpecError`` naming the
server's place in the spec file and the key, as ``load_spec`` does.

``Environment.replace``, ``Environment.with_tls`` and ``Server.replace`` (pgflex.spec.model) call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from pgflex.spec.errors import SpecError, SpecIssue

if TYPE_CHECKING:
    from pgflex.spec.model import Environment, Server

ModelT = TypeVar("ModelT", bound=BaseModel)
# The policy rules a TLS change can newly break or satisfy; their waivers are recomputed after a change.
TLS_RULES = frozenset({"tls-below-1.2", "insecure-transport"})


def replace_server(server: Server, changes: Mapping[str, Any]) -> Server:
    """``server`` with ``changes`` (attribute names; a mapping updates a nested model key by key), validated.

    The cloud-dependent TLS rule is checked when the server is part of an environment again
    (``Environment.replace``), as a server alone does not know its cloud.
    """
    changed = _validated(server, changes, server.origin.file, _where(server))
    return _with_tls_policy(changed, cloud="local", key_path=_where(server))


def replace_environment(env: Environment, changes: Mapping[str, Any]) -> Environment:
    """``env`` with ``changes`` (attribute names, e.g. ``servers=...``), validated, every server's TLS policy too."""
    changed = _validated(env, changes, env.source, None)
    servers = tuple(_with_tls_policy(s, changed.cloud, f"servers[{i}]") for i, s in enumerate(changed.servers))
    names = [server.name for server in servers]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SpecError([SpecIssue(env.source, 1, 1, "servers", f"duplicate server name {duplicates[0]!r}")])
    return changed.model_copy(update={"servers": servers})  # every part validated above


def with_tls(
    env: Environment,
    *,
    servers: Iterable[str] | None = None,
    **tls: Any,
) -> Environment:
    """``env`` with the TLS policy of ``servers`` (default: every server) changed, validated like the spec.

    ``tls``: any of min_version, max_version, require_secure_transport.
    """
    chosen = None if servers is None else set(servers)
    unknown = sorted((chosen or set()) - {server.name for server in env.servers})
    if unknown:
        raise SpecError([SpecIssue(env.source, 1, 1, "servers", f"no server named {unknown[0]!r} in the spec")])
    updated = [server.replace(tls=tls) if chosen is None or server.name in chosen else server for server in env.servers]
    return replace_environment(env, {"servers": updated})


# --------------------------------------------------------------------------------------------------
# Rebuilding from plain data, so that every validator runs again.
# --------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A model as the plain data it validates from (declared fields only: computed ones are not input)."""
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _merged(current: Any, change: Any) -> Any:
    """A mapping change updates a nested model's data key by key; anything else replaces it whole."""
    if isinstance(change, Mapping) and not isinstance(change, BaseModel) and isinstance(current, dict):
        return {**current, **{key: _merged(current.get(key), value) for key, value in change.items()}}
    return _plain(change)


def _validated(model: ModelT, changes: Mapping[str, Any], file: str, where: str | None) -> ModelT:
    data = _plain(model)
    for key, change in changes.items():
        data[key] = _merged(data.get(key), change) if key in data else _plain(change)
    try:
        return type(model).model_validate(data)
    except ValidationError as error:
        origin = getattr(model, "origin", None)
        line, column = (origin.line, origin.column) if origin is not None else (1, 1)
        raise SpecError([_issue(entry, file, line, column, where) for entry in error.errors()]) from None


def _issue(entry: Mapping[str, Any], file: str, line: int, column: int, where: str | None) -> SpecIssue:
    path = _key_path(entry["loc"])
    key_path = f"{where}.{path}" if where and path else (where or path)
    kind, value = entry["type"], entry.get("input")
    message = str(entry["msg"]).removeprefix("Value error, ").replace("Input should be", "expected")
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "literal_error":
        message = f"{value!r} is not allowed: {message}"
    return SpecIssue(file, line, column, key_path, message)


def _key_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("public", "private"):  # the access union's tag, not a key of the spec
            continue
        else:
            path += ("." if path else "") + to_camel(str(part))
    return path


def _where(server: Server) -> str:
    return server.origin.key_path or f"servers[{server.name}]"


# --------------------------------------------------------------------------------------------------
# The spec's TLS policy, checked again by the same rules the loader runs.
# --------------------------------------------------------------------------------------------------


def _with_tls_policy(server: Server, cloud: str, key_path: str) -> Server:
    from pgflex.spec.document import EnvironmentSpec, ServerSpec, TlsSpec
    from pgflex.spec.rules import ServerVerdict, check_tls

    tls = TlsSpec.model_construct(
        require_secure_transport=server.tls.require_secure_transport,
        min_version=server.tls.min_version,
        max_version=server.tls.max_version,
    )
    # Only what the TLS rules read (the name, the TLS policy, the exceptions, and the cloud): model_construct
    # builds the spec-side models without the other, already validated, parts.
    read: dict[str, Any] = {"name": server.name, "tls": tls, "exceptions": list(server.exceptions)}
    spec = ServerSpec.model_construct(**read)
    verdict = ServerVerdict()
    where: dict[str, Any] = {"cloud": cloud}
    check_tls((), spec, EnvironmentSpec.model_construct(**where), verdict)
    if verdict.findings:
        origin = server.origin
        issues = [
            SpecIssue(origin.file, origin.line, origin.column, f"{key_path}.{_key_path(f.loc)}", f.message)
            for f in verdict.findings
        ]
        raise SpecError(issues)
    kept = tuple(applied for applied in server.applied_exceptions if applied.rule not in TLS_RULES)
    return server.model_copy(update={"applied_exceptions": kept + tuple(verdict.applied)})
