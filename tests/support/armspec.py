"""Check emulator ARM responses against the vendored Azure REST API specification.

The PostgreSQL flexible server API (2025-08-01) comes with OpenAPI 2.0 files. `ArmSpec` converts their
definitions into JSON Schema for `jsonschema`. Microsoft.Network and private DNS come with example files
only, so their bodies are checked against the *shape* of those examples. Resource groups and subscriptions
have no vendored files at all; they are checked against small shapes written down in this module.

Typical use::

    spec = ArmSpec.load()
    problems = spec.validate_response("GET", "/subscriptions/s/resourceGroups/rg/providers/"
                                      "Microsoft.DBforPostgreSQL/flexibleServers/srv", 200, body)
    assert not problems, problems
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

from jsonschema import Draft7Validator  # type: ignore[import-untyped]

JSON = Any
Schema = dict[str, Any]

SPECS_ENV_VAR: Final = "PGFLEX_SPECS_DIR"
PG_SPEC_DIR: Final = "specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01"
PG_PRIMARY_FILE: Final = "openapi.json"
# Older PostgreSQL api-versions vendored with their own spec (folder, primary file): a response to a request at
# such a version is checked against it (see ArmSpec.for_api_version), with objects open, since the emulator's
# bodies keep the fields newer versions added, which older clients ignore.
OLDER_PG_SPECS: Final = {
    "2021-06-01": (
        "specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2021-06-01",
        "postgresql.json",
    ),
}
_EXAMPLE_DIRS: Final = ("specification/network", "specification/privatedns")
_HTTP_METHODS: Final = ("get", "put", "post", "patch", "delete", "head")
_JSON_TYPES: Final = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
# Constraint keywords that mean the same in OpenAPI 2.0 and JSON Schema draft 7.
_KEPT_KEYWORDS: Final = ("pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems")
_LRO_HEADERS: Final = ("Location", "Azure-AsyncOperation")
_MAX_MESSAGE: Final = 240


def default_specs_dir() -> Path:
    """The specs: `$PGFLEX_SPECS_DIR`, else the copy vendored in the repository (`vendor/azure-rest-api-specs`)."""
    override = os.environ.get(SPECS_ENV_VAR)
    if override:
        return Path(override).resolve()
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root / "vendor" / "azure-rest-api-specs"


# --------------------------------------------------------------------------------------------------
# Shapes: structural expectations for bodies without a vendored schema
# --------------------------------------------------------------------------------------------------


class _Anything:
    """Shape leaf that accepts any JSON value (free-form upstream, e.g. `error.details`)."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Anything()


@dataclass(frozen=True)
class MapOf:
    """Shape of a free-form map (like `tags`): any key, each value shaped like `value`."""

    value: JSON


@dataclass(frozen=True)
class Shape:
    """A body shape: `template` is nested dicts/lists/scalars; scalars only stand for their JSON type.

    `required` lists key paths that must be present. With `is_list`, the body is an ARM list
    `{"value": [<template>...], "nextLink": str}` and `required` applies to every element.
    """

    template: JSON
    required: tuple[tuple[str, ...], ...] = ()
    is_list: bool = False

    def as_list(self) -> Shape:
        return Shape(self.template, self.required, is_list=True)


# Well-known ARM shapes, written down from the public Azure REST API docs (learn.microsoft.com:
# "Resource Groups - Get", "Subscriptions - Get", "Private DNS Record Sets - Get", and "Track asynchronous
# Azure operations"), because the vendored specs hold neither a schema nor an example for them.
RESOURCE_GROUP_SHAPE: Final = Shape(
    template={
        "id": "",
        "name": "",
        "type": "",
        "location": "",
        "managedBy": "",
        "tags": MapOf(""),
        "properties": {"provisioningState": ""},
    },
    required=(("id",), ("name",), ("type",), ("location",), ("properties", "provisioningState")),
)
SUBSCRIPTION_SHAPE: Final = Shape(
    template={
        "id": "",
        "subscriptionId": "",
        "tenantId": "",
        "displayName": "",
        "state": "",
        "tags": MapOf(""),
        "authorizationSource": "",
        "managedByTenants": [{"tenantId": ""}],
        "subscriptionPolicies": {"locationPlacementId": "", "quotaId": "", "spendingLimit": ""},
    },
    required=(("id",), ("subscriptionId",), ("displayName",), ("state",)),
)
A_RECORD_SET_SHAPE: Final = Shape(
    template={
        "id": "",
        "name": "",
        "type": "",
        "etag": "",
        "properties": {
            "metadata": MapOf(""),
            "ttl": 0,
            "fqdn": "",
            "isAutoRegistered": False,
            "aRecords": [{"ipv4Address": ""}],
        },
    },
    required=(("id",), ("name",), ("type",)),
)
ASYNC_OPERATION_STATUS_SHAPE: Final = Shape(
    template={
        "id": "",
        "name": "",
        "resourceId": "",
        "status": "",
        "percentComplete": 0,
        "startTime": "",
        "endTime": "",
        "properties": ANY,
        "error": {"code": "", "message": "", "target": "", "details": [ANY], "additionalInfo": [ANY]},
    },
    required=(("status",),),
)
# A Location (operation result) URL answers 202 while running, then the operation's result, if any.
ANY_BODY_SHAPE: Final = Shape(template=ANY)
# Microsoft.Resources' Provider and GenericResourceExpanded, written down from the definitions of
# specification/resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json
# (azure-rest-api-specs, commit 11f0c127f56356ee518aff18803d7e277afbdabb): every key each may have.
PROVIDER_SHAPE: Final = Shape(
    template={
        "id": "",
        "namespace": "",
        "registrationState": "",
        "registrationPolicy": "",
        "providerAuthorizationConsentState": "",
        "resourceTypes": [
            {
                "resourceType": "",
                "locations": [""],
                "locationMappings": [ANY],
                "aliases": [ANY],
                "apiVersions": [""],
                "defaultApiVersion": "",
                "zoneMappings": [ANY],
                "apiProfiles": [ANY],
                "capabilities": "",
                "properties": MapOf(""),
            }
        ],
    },
    required=(("namespace",),),
)
GENERIC_RESOURCE_SHAPE: Final = Shape(
    template={
        "id": "",
        "name": "",
        "type": "",
        "location": "",
        "extendedLocation": {"type": "", "name": ""},
        "tags": MapOf(""),
        "plan": {"name": "", "publisher": "", "product": "", "promotionCode": "", "version": ""},
        "properties": ANY,
        "kind": "",
        "managedBy": "",
        "sku": {"name": "", "tier": "", "size": "", "family": "", "model": "", "capacity": 0},
        "identity": ANY,
        "createdTime": "",
        "changedTime": "",
        "provisioningState": "",
    },
    required=(("id",), ("name",), ("type",)),
)


# --------------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DeclaredResponse:
    """One declared status of an operation: a JSON Schema, a shape, or no body at all."""

    status: str
    schema: Schema | None = None
    shape: Shape | None = None
    headers: tuple[str, ...] = ()

    @property
    def has_body(self) -> bool:
        return self.schema is not None or self.shape is not None


@dataclass(frozen=True, eq=False)
class Operation:
    """An ARM operation: from the PostgreSQL spec, or from this module's table for the others."""

    method: str
    template: str
    operation_id: str
    source: str  # "postgresql", "network", "privatedns" or "resources"
    responses: Mapping[str, DeclaredResponse]
    examples: tuple[Path, ...] = ()
    body_parameter: str | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _template_regex(self.template))

    @property
    def literal_segments(self) -> int:
        return sum(1 for segment in self.template.split("/") if segment and not segment.startswith("{"))

    @property
    def declared_statuses(self) -> tuple[str, ...]:
        return tuple(self.responses)

    def path_parameters(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None

    def expand(self, parameters: Mapping[str, JSON]) -> str:
        """The template with `{name}` replaced by `parameters[name]` (URL-quoted)."""

        def substitute(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in parameters:
                raise KeyError(f"{self.operation_id}: no value for path parameter {name!r}")
            return quote(str(parameters[name]), safe="")

        return re.sub(r"\{([^}/]+)\}", substitute, self.template)


@dataclass(frozen=True, eq=False)
class ExampleRequest:
    """A request taken from a vendored example file, ready to replay against the emulator."""

    name: str  # example file stem, e.g. "ServersGet"
    file: Path
    operation: Operation
    method: str
    path: str
    api_version: str
    body: JSON | None
    responses: Mapping[str, Mapping[str, JSON]]  # status -> {"body": ..., "headers": ...}


def _template_regex(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    for segment in template.split("/"):
        param = re.fullmatch(r"\{([^}/]+)\}", segment)
        if param:
            parts.append(f"(?P<{_group_name(param.group(1))}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    # ARM treats literal segments case-insensitively; parameters match anything between slashes anyway.
    return re.compile("/".join(parts), re.IGNORECASE)


def _group_name(parameter: str) -> str:
    return re.sub(r"\W", "_", parameter)


def _normalize_path(path: str) -> str:
    if "://" in path:
        path = urlsplit(path).path
    path = path.split("?", 1)[0]
    return path.rstrip("/") or "/"


# --------------------------------------------------------------------------------------------------
# Routes for resources without a vendored OpenAPI file
# --------------------------------------------------------------------------------------------------

_SUB = "/subscriptions/{subscriptionId}"
_RG = _SUB + "/resourceGroups/{resourceGroupName}"
_VNETS = _RG + "/providers/Microsoft.Network/virtualNetworks"
_ZONES = _RG + "/providers/Microsoft.Network/privateDnsZones"
_PG_LOCATION = _SUB + "/providers/Microsoft.DBforPostgreSQL/locations/{locationName}"


@dataclass(frozen=True)
class ResourceRoute:
    """Path templates of one resource kind that has no vendored OpenAPI file.

    `kind` is also the prefix of its example files' names (`VirtualNetworkCreate.json`, ...).
    Parameter names are the upstream specs' names, so the examples' `parameters` fill them in.
    """

    kind: str
    source: str
    collection: str
    item: str  # "" for a kind that is only listed
    put_statuses: tuple[str, ...]
    delete_statuses: tuple[str, ...]
    patch: bool = False
    head: bool = False
    has_examples: bool = True  # False for extra paths of a kind (subscription-wide lists)


RESOURCE_ROUTES: Final = (
    ResourceRoute(
        "VirtualNetwork",
        "network",
        _VNETS,
        _VNETS + "/{virtualNetworkName}",
        ("200", "201"),
        ("200", "202", "204"),
    ),
    ResourceRoute(
        "Subnet",
        "network",
        _VNETS + "/{virtualNetworkName}/subnets",
        _VNETS + "/{virtualNetworkName}/subnets/{subnetName}",
        ("200", "201"),
        ("200", "202", "204"),
    ),
    ResourceRoute(
        "PrivateZone",
        "privatedns",
        _ZONES,
        _ZONES + "/{privateZoneName}",
        ("200", "201", "202"),
        ("200", "202", "204"),
        patch=True,
    ),
    ResourceRoute(
        "VirtualNetworkLink",
        "privatedns",
        _ZONES + "/{privateZoneName}/virtualNetworkLinks",
        _ZONES + "/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}",
        ("200", "201", "202"),
        ("200", "202", "204"),
        patch=True,
    ),
    ResourceRoute(
        "ARecordSet",
        "privatedns",
        _ZONES + "/{privateZoneName}/A",
        _ZONES + "/{privateZoneName}/A/{relativeRecordSetName}",
        ("200", "201"),
        ("200", "204"),
        patch=True,
    ),
    # Subscription-wide lists (list_all): the same item shapes under the subscription.
    ResourceRoute(
        "VirtualNetwork",
        "network",
        _SUB + "/providers/Microsoft.Network/virtualNetworks",
        _SUB + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}",
        (),
        (),
        has_examples=False,
    ),
    ResourceRoute(
        "PrivateZone",
        "privatedns",
        _SUB + "/providers/Microsoft.Network/privateDnsZones",
        _SUB + "/providers/Microsoft.Network/privateDnsZones/{privateZoneName}",
        (),
        (),
        has_examples=False,
    ),
    # "ALL" lists record sets of every type; the emulator keeps only A records, so their shape applies.
    ResourceRoute(
        "ARecordSet",
        "privatedns",
        _ZONES + "/{privateZoneName}/ALL",
        _ZONES + "/{privateZoneName}/ALL/{relativeRecordSetName}",
        (),
        (),
        has_examples=False,
    ),
    ResourceRoute(
        "ResourceGroup",
        "resources",
        _SUB + "/resourcegroups",
        _SUB + "/resourcegroups/{resourceGroupName}",
        ("200", "201"),
        ("200", "202"),
        patch=True,
        head=True,
    ),
    ResourceRoute("Subscription", "resources", "/subscriptions", _SUB, (), ()),
    # Resource Manager's provider metadata, and the resources of a group or a subscription (lists only: no item).
    ResourceRoute(
        "Provider",
        "resources",
        _SUB + "/providers",
        _SUB + "/providers/{resourceProviderNamespace}",
        (),
        (),
        has_examples=False,
    ),
    ResourceRoute("GenericResource", "resources", _RG + "/resources", "", (), (), has_examples=False),
    ResourceRoute("GenericResource", "resources", _SUB + "/resources", "", (), (), has_examples=False),
)

# Resources returned inline in another kind's body, shaped like the standalone kind as well: upstream's
# VirtualNetworkPropertiesFormat.subnets is an array of Subnet.
EMBEDDED_KINDS: Final[Mapping[tuple[str, tuple[str, ...]], str]] = {
    ("VirtualNetwork", ("properties", "subnets")): "Subnet",
}

# Shapes of the kinds that have no example file (the others are derived from their examples).
WELL_KNOWN_SHAPES: Final[Mapping[str, Shape]] = {
    "ARecordSet": A_RECORD_SET_SHAPE,
    "ResourceGroup": RESOURCE_GROUP_SHAPE,
    "Subscription": SUBSCRIPTION_SHAPE,
    "Provider": PROVIDER_SHAPE,
    "GenericResource": GENERIC_RESOURCE_SHAPE,
}

# Long-running-operation polling URLs (status monitor, operation result) per provider. The PostgreSQL and
# private DNS forms are those of the examples' Azure-AsyncOperation/Location headers.
POLLING_ROUTES: Final = (
    ("postgresql", "AzureAsyncOperation", _PG_LOCATION + "/azureAsyncOperation/{operationId}"),
    ("postgresql", "OperationResults", _PG_LOCATION + "/operationResults/{operationId}"),
    (
        "privatedns",
        "AzureAsyncOperation",
        _RG + "/providers/Microsoft.Network/privateDnsOperationStatuses/{id}",
    ),
    ("privatedns", "OperationResults", _RG + "/providers/Microsoft.Network/privateDnsOperationResults/{id}"),
    (
        "network",
        "AzureAsyncOperation",
        _SUB + "/providers/Microsoft.Network/locations/{location}/operations/{id}",
    ),
    (
        "network",
        "OperationResults",
        _SUB + "/providers/Microsoft.Network/locations/{location}/operationResults/{id}",
    ),
    ("resources", "OperationResults", _SUB + "/operationresults/{operationId}"),
)

# How an example file name continues after its kind prefix -> (HTTP method, targets the collection).
_EXAMPLE_VERBS: Final = (
    ("Create", "PUT", False),
    ("Put", "PUT", False),
    ("Get", "GET", False),
    ("Delete", "DELETE", False),
    ("Update", "PATCH", False),
    ("Patch", "PATCH", False),
    ("List", "GET", True),
)
_REQUIRED_LOOKING_KEYS: Final = (("id",), ("name",), ("type",), ("properties", "provisioningState"))


def route_for_example(stem: str) -> tuple[ResourceRoute, str, bool] | None:
    """(route, method, is_collection) for an example file name such as `SubnetCreateWithDelegation`."""
    # Longest prefix first: "VirtualNetworkLinkPut" is a link, not a virtual network.
    for route in sorted(RESOURCE_ROUTES, key=lambda r: -len(r.kind)):
        if not route.has_examples or not stem.startswith(route.kind):
            continue
        rest = stem[len(route.kind) :]
        for prefix, method, is_collection in _EXAMPLE_VERBS:
            if rest.startswith(prefix):
                return route, method, is_collection
    return None


# --------------------------------------------------------------------------------------------------
# JSON files and $ref resolution
# --------------------------------------------------------------------------------------------------


class _JsonFiles:
    def __init__(self) -> None:
        self._cache: dict[Path, JSON] = {}

    def load(self, path: Path) -> JSON:
        if path not in self._cache:
            self._cache[path] = json.loads(path.read_text(encoding="utf-8"))
        return self._cache[path]


def _split_ref(base_file: Path, ref: str) -> tuple[Path, str]:
    file_part, _, fragment = ref.partition("#")
    target = (base_file.parent / file_part).resolve() if file_part else base_file
    return target, fragment


def _resolve_pointer(document: JSON, fragment: str) -> JSON:
    node = document
    for token in fragment.lstrip("/").split("/") if fragment.strip("/") else ():
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


# --------------------------------------------------------------------------------------------------
# OpenAPI 2.0 -> JSON Schema
# --------------------------------------------------------------------------------------------------


def _is_plain_object(schema: Schema) -> bool:
    """Only properties/required (and our own closing) can be merged into another object."""
    mergeable = {"type", "properties", "required", "additionalProperties"}
    return set(schema) <= mergeable and schema.get("additionalProperties", False) is False


class _SchemaConverter:
    """Converts OpenAPI 2.0 schemas to draft 7 JSON Schema, gathering every referenced definition.

    - `$ref` (local or to another file) becomes `#/definitions/<key>` in one shared definitions map.
    - `enum` is dropped (upstream marks them modelAsString: open), the `type` is kept.
    - `x-nullable: true` also admits null; `readOnly`, `format`, `x-ms-*` are ignored.
    - `allOf` of object definitions is flattened, so that with `closed=True` an object that declares
      `properties` and no `additionalProperties` rejects undeclared keys (catches misspelt keys).
    - `discriminator`: none in the vendored files; the property is checked like any other.
    """

    def __init__(self, files: _JsonFiles, root: Path, *, closed: bool) -> None:
        self.definitions: dict[str, Schema] = {}
        self._files = files
        self._root = root
        self._closed = closed
        self._in_progress: set[str] = set()

    def convert(self, node: Mapping[str, JSON], base: Path) -> Schema:
        if "$ref" in node:
            return self._nullable(self._reference(base, node["$ref"]), node)
        out: Schema = {}
        self._copy_type(node, out)
        out.update({keyword: node[keyword] for keyword in _KEPT_KEYWORDS if keyword in node})
        if isinstance(node.get("required"), list) and node["required"]:
            out["required"] = list(node["required"])
        if isinstance(node.get("properties"), dict):
            out["properties"] = {name: self.convert(sub, base) for name, sub in node["properties"].items()}
        if isinstance(node.get("items"), dict):
            out["items"] = self.convert(node["items"], base)
        extra = node.get("additionalProperties")
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.convert(extra, base)
        if isinstance(node.get("allOf"), list):
            self._merge_all_of(out, [self.convert(member, base) for member in node["allOf"]])
        if self._closed and "properties" in out and "additionalProperties" not in out and "allOf" not in out:
            out["additionalProperties"] = False
        return self._nullable(out, node)

    def _reference(self, base: Path, ref: str) -> Schema:
        target, fragment = _split_ref(base, ref)
        key = re.sub(r"[/~#]+", ".", f"{target.relative_to(self._root).as_posix()}#{fragment}")
        if key not in self.definitions and key not in self._in_progress:
            self._in_progress.add(key)
            self.definitions[key] = self.convert(_resolve_pointer(self._files.load(target), fragment), target)
            self._in_progress.discard(key)
        return {"$ref": f"#/definitions/{key}"}

    @staticmethod
    def _copy_type(node: Mapping[str, JSON], out: Schema) -> None:
        declared = node.get("type")
        if isinstance(declared, str) and declared in _JSON_TYPES:
            out["type"] = declared
        elif "enum" in node and all(isinstance(value, str) for value in node["enum"]):
            out["type"] = "string"  # an untyped string enum: keep the type check, not the values

    def _merge_all_of(self, out: Schema, members: list[Schema]) -> None:
        properties: dict[str, Schema] = {}
        required: list[str] = []
        kept: list[Schema] = []
        for member in members:
            resolved = self._definition(member)
            if resolved is None or not _is_plain_object(resolved):
                kept.append(member)  # e.g. a map or a constrained scalar: keep it as an allOf branch
                continue
            properties.update(resolved.get("properties", {}))
            required.extend(resolved.get("required", []))
        properties.update(out.get("properties", {}))
        required.extend(out.get("required", []))
        if properties:
            out["properties"] = properties
        if required:
            out["required"] = sorted(set(required))
        if kept:
            out["allOf"] = kept

    def _definition(self, member: Schema) -> Schema | None:
        ref = member.get("$ref")
        if ref is None:
            return member
        return self.definitions.get(ref.removeprefix("#/definitions/"))

    @staticmethod
    def _nullable(out: Schema, node: Mapping[str, JSON]) -> Schema:
        if node.get("x-nullable") is not True:
            return out
        if isinstance(out.get("type"), str):
            return {**out, "type": [out["type"], "null"]}
        return {"anyOf": [out, {"type": "null"}]}


# --------------------------------------------------------------------------------------------------
# Body checks
# --------------------------------------------------------------------------------------------------


def _json_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # examples write 10 where the service may send 10.0, and vice versa
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shape_problems(value: JSON, template: JSON, where: str) -> Iterator[str]:
    if isinstance(template, _Anything):
        return
    if isinstance(template, MapOf):
        if not isinstance(value, dict):
            yield f"{where}: expected an object (map), got {_json_type(value)}"
            return
        for key, item in value.items():
            yield from _shape_problems(item, template.value, f"{where}.{key}")
    elif isinstance(template, dict):
        if not isinstance(value, dict):
            yield f"{where}: expected an object, got {_json_type(value)}"
            return
        for key, item in value.items():
            if key not in template:
                allowed = ", ".join(sorted(template))
                yield f"{where}.{key}: key not in the reference shape (allowed: {allowed})"
            else:
                yield from _shape_problems(item, template[key], f"{where}.{key}")
    elif isinstance(template, list):
        if not isinstance(value, list):
            yield f"{where}: expected an array, got {_json_type(value)}"
            return
        # An empty reference array says nothing about its elements, so they cannot be checked.
        for index, item in enumerate(value if template else ()):
            yield from _shape_problems(item, template[0], f"{where}[{index}]")
    elif _json_type(value) != _json_type(template):
        yield f"{where}: expected {_json_type(template)}, got {_json_type(value)}"


def _missing_keys(value: JSON, required: Sequence[tuple[str, ...]], where: str) -> Iterator[str]:
    for key_path in required:
        node = value
        for key in key_path:
            if not isinstance(node, dict) or key not in node:
                yield f"{where}.{'.'.join(key_path)}: required key missing"
                break
            node = node[key]


def check_shape(body: JSON, shape: Shape) -> list[str]:
    """Problems of `body` against `shape` (keys must exist in the shape with compatible JSON types)."""
    if not shape.is_list:
        return [*_shape_problems(body, shape.template, "$"), *_missing_keys(body, shape.required, "$")]
    problems = list(_shape_problems(body, {"value": [ANY], "nextLink": ""}, "$"))
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return [*problems, "$.value: required array missing"]
    for index, item in enumerate(items):
        problems += _shape_problems(item, shape.template, f"$.value[{index}]")
        problems += _missing_keys(item, shape.required, f"$.value[{index}]")
    return problems


def _shape_of(body: JSON) -> JSON:
    """The shape template of an example body: `tags` become free-form maps, arrays one merged element."""
    if isinstance(body, dict):
        return {key: MapOf("") if key == "tags" else _shape_of(value) for key, value in body.items()}
    if isinstance(body, list):
        return _merge_templates([], [_shape_of(item) for item in body])
    return body


def _merge_templates(first: JSON, second: JSON) -> JSON:
    if isinstance(first, dict) and isinstance(second, dict):
        merged = dict(first)
        for key, value in second.items():
            merged[key] = _merge_templates(merged[key], value) if key in merged else value
        return merged
    if isinstance(first, list) and isinstance(second, list):
        elements = [*first, *second]
        if not elements:
            return []
        combined = elements[0]
        for element in elements[1:]:
            combined = _merge_templates(combined, element)
        return [combined]
    return first


def _embed(template: JSON, key_path: tuple[str, ...], element: JSON) -> JSON:
    """`template` with the array at `key_path` also admitting elements shaped like `element`."""
    head, *rest = key_path
    merged = dict(template)
    if rest:
        merged[head] = _embed(template.get(head, {}), tuple(rest), element)
    else:
        merged[head] = _merge_templates(template.get(head, []), [element])
    return merged


def _error_envelope_problems(body: JSON) -> list[str]:
    """ARM errors are `{"error": {"code": str, "message": str, ...}}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ['$: not the ARM error envelope {"error": {"code": ..., "message": ...}}']
    return [
        f"$.error.{key}: required string missing" for key in ("code", "message") if not isinstance(error.get(key), str)
    ]


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


# --------------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------------


class ArmSpec:
    """The vendored specs, loaded once: operations, converted schemas, example shapes and requests."""

    def __init__(
        self,
        specs_dir: Path | None = None,
        *,
        closed_objects: bool = True,
        pg_spec: tuple[str, str] = (PG_SPEC_DIR, PG_PRIMARY_FILE),
    ) -> None:
        self.specs_dir = (specs_dir or default_specs_dir()).resolve()
        self.pg_dir = self.specs_dir / pg_spec[0]
        self._pg_primary = pg_spec[1]
        if not (self.pg_dir / self._pg_primary).is_file():
            raise FileNotFoundError(f"no PostgreSQL spec at {self.pg_dir} (set {SPECS_ENV_VAR})")
        self._files = _JsonFiles()
        self._converter = _SchemaConverter(self._files, self.specs_dir, closed=closed_objects)
        error_ref = "../../../../../common-types/resource-management/v6/types.json#/definitions/ErrorResponse"
        self._error_schema = self._converter.convert({"$ref": error_ref}, self.pg_dir / self._pg_primary)
        self._other_examples = self._find_other_examples()
        pg_operations = self._load_postgresql()
        self.operations: tuple[Operation, ...] = (
            *pg_operations,
            *self._resource_operations(),
            *self._polling_operations(),
        )
        self._by_method: dict[str, list[Operation]] = {}
        for operation in self.operations:
            self._by_method.setdefault(operation.method, []).append(operation)
        self._validators: dict[int, Draft7Validator] = {}
        self._examples: list[ExampleRequest] | None = None

    @staticmethod
    def load(specs_dir: Path | None = None) -> ArmSpec:
        """A shared instance per specs folder (loading converts the whole PostgreSQL spec once)."""
        return _cached_spec((specs_dir or default_specs_dir()).resolve())

    def for_api_version(self, api_version: str) -> ArmSpec:
        """The spec that defines responses to requests at ``api_version``: an older PostgreSQL version's own
        (OLDER_PG_SPECS), else this one."""
        older = OLDER_PG_SPECS.get(api_version.lower())
        return self if older is None else _cached_older_spec(self.specs_dir, older)

    # ---- lookup ------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Operation | None:
        """The operation serving `method path` (literal segments compared case-insensitively)."""
        path = _normalize_path(path)
        candidates = [op for op in self._by_method.get(method.upper(), ()) if op.pattern.fullmatch(path)]
        # The most literal template wins: ".../privateDnsZones/{zone}/A/{name}" over a generic one.
        return max(candidates, key=lambda op: op.literal_segments, default=None)

    def operation(self, operation_id: str) -> Operation:
        for candidate in self.operations:
            if candidate.operation_id == operation_id:
                return candidate
        raise KeyError(operation_id)

    # ---- validation --------------------------------------------------------------------------------

    def validate_response(
        self,
        method: str,
        path: str,
        status: int,
        body: JSON,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Problems of one response (empty = valid).

        `headers`, if given, must carry the Location / Azure-AsyncOperation headers the status declares.
        """
        operation = self.match(method, path)
        if operation is None:
            return [f"no operation in the spec or the route tables matches {method.upper()} {path}"]
        declared = operation.responses.get(str(status))
        if method.upper() == "HEAD" and status >= 400 and (declared is not None or "default" in operation.responses):
            # A HEAD response never has a body (RFC 9110 9.3.2), so not the error envelope either: a throttled
            # or failed existence check is judged by its status alone.
            return []
        if declared is None:
            return self._undeclared_status_problems(operation, status, body)
        problems = self._body_problems(declared, body)
        if status >= 400:
            problems += _error_envelope_problems(body) if declared.has_body else []
        return problems + self._header_problems(declared, headers)

    def _undeclared_status_problems(self, operation: Operation, status: int, body: JSON) -> list[str]:
        default = operation.responses.get("default")
        if status >= 400 and default is not None:
            return _error_envelope_problems(body) + self._body_problems(default, body)
        statuses = ", ".join(operation.declared_statuses)
        return [f"status {status} is not declared by {operation.operation_id} (declared: {statuses})"]

    def _body_problems(self, declared: DeclaredResponse, body: JSON) -> list[str]:
        if declared.schema is not None:
            return self._schema_problems(declared, body)
        if declared.shape is not None:
            return check_shape(body, declared.shape)
        if body not in (None, "", b""):
            return [f"$: status {declared.status} declares no body, got {_json_type(body)}"]
        return []

    def _schema_problems(self, declared: DeclaredResponse, body: JSON) -> list[str]:
        validator = self._validators.get(id(declared))
        if validator is None:
            root = {"definitions": self._converter.definitions, "allOf": [declared.schema]}
            validator = self._validators[id(declared)] = Draft7Validator(root)
        errors = sorted(validator.iter_errors(body), key=lambda error: error.json_path)
        return [f"{error.json_path}: {_short(error.message)}" for error in errors]

    @staticmethod
    def _header_problems(declared: DeclaredResponse, headers: Mapping[str, str] | None) -> list[str]:
        if headers is None:
            return []
        present = {name.lower() for name in headers}
        return [
            f"header {name} declared for status {declared.status} is missing"
            for name in _LRO_HEADERS
            if name in declared.headers and name.lower() not in present
        ]

    # ---- examples ----------------------------------------------------------------------------------

    def example_requests(self) -> list[ExampleRequest]:
        """Every vendored example as a request to replay, with the responses the spec shows for it."""
        if self._examples is None:
            examples: list[ExampleRequest] = []
            for operation in self.operations:
                examples += (self._example_request(operation, file) for file in operation.examples)
            self._examples = examples
        return list(self._examples)

    def _example_request(self, operation: Operation, file: Path) -> ExampleRequest:
        example = self._files.load(file)
        parameters: dict[str, JSON] = example.get("parameters", {})
        return ExampleRequest(
            name=file.stem,
            file=file,
            operation=operation,
            method=operation.method,
            path=operation.expand(parameters),
            api_version=str(parameters.get("api-version", "")),
            body=self._example_body(operation, parameters),
            responses=example.get("responses", {}),
        )

    @staticmethod
    def _example_body(operation: Operation, parameters: Mapping[str, JSON]) -> JSON | None:
        if operation.body_parameter is not None:
            return parameters.get(operation.body_parameter)
        if operation.source == "postgresql" or operation.method not in ("PUT", "PATCH", "POST"):
            return None
        # Examples without a spec: the body is the structured parameter ("parameters", "subnetParameters").
        return next((value for value in parameters.values() if isinstance(value, dict | list)), None)

    # ---- loading: PostgreSQL -----------------------------------------------------------------------

    def _load_postgresql(self) -> list[Operation]:
        primary = self.pg_dir / self._pg_primary
        files = [primary, *sorted(f for f in self.pg_dir.glob("*.json") if f != primary)]
        examples: dict[tuple[str, str], list[Path]] = {}
        for file in files:
            for key, found in self._examples_by_operation(file).items():
                bucket = examples.setdefault(key, [])
                bucket += (path for path in found if path not in bucket)
        operations: dict[tuple[str, str], Operation] = {}
        for file in files:
            # openapi.json first; the hand-written files only contribute operations it lacks.
            for method, template, spec_op in self._spec_operations(file):
                key = (method, _template_key(template))
                if key not in operations:
                    operations[key] = self._spec_operation(file, method, template, spec_op, examples.get(key, []))
        return list(operations.values())

    def _spec_operations(self, file: Path) -> Iterator[tuple[str, str, Mapping[str, JSON]]]:
        for template, path_item in self._files.load(file).get("paths", {}).items():
            for method in _HTTP_METHODS:
                if method in path_item:
                    shared = path_item.get("parameters", [])
                    yield method.upper(), template, {**path_item[method], "_shared": shared}

    def _examples_by_operation(self, file: Path) -> dict[tuple[str, str], list[Path]]:
        found: dict[tuple[str, str], list[Path]] = {}
        for method, template, spec_op in self._spec_operations(file):
            refs = [entry["$ref"] for entry in spec_op.get("x-ms-examples", {}).values() if "$ref" in entry]
            # Upstream examples that were not vendored are dangling by design (see SOURCE.md).
            paths = [(file.parent / ref).resolve() for ref in refs]
            found[(method, _template_key(template))] = [path for path in paths if path.is_file()]
        return found

    def _spec_operation(
        self, file: Path, method: str, template: str, spec_op: Mapping[str, JSON], examples: list[Path]
    ) -> Operation:
        responses = {
            status: self._declared_response(file, status, response)
            for status, response in spec_op.get("responses", {}).items()
        }
        return Operation(
            method=method,
            template=template,
            operation_id=spec_op.get("operationId", f"{method} {template}"),
            source="postgresql",
            responses=responses,
            examples=tuple(examples),
            body_parameter=self._body_parameter(file, [*spec_op["_shared"], *spec_op.get("parameters", [])]),
        )

    def _declared_response(self, file: Path, status: str, response: Mapping[str, JSON]) -> DeclaredResponse:
        if "$ref" in response:
            target, fragment = _split_ref(file, response["$ref"])
            return self._declared_response(target, status, _resolve_pointer(self._files.load(target), fragment))
        schema = self._converter.convert(response["schema"], file) if "schema" in response else None
        return DeclaredResponse(status=status, schema=schema, headers=tuple(response.get("headers", {})))

    def _body_parameter(self, file: Path, parameters: Sequence[Mapping[str, JSON]]) -> str | None:
        for parameter in parameters:
            resolved = parameter
            if "$ref" in parameter:
                target, fragment = _split_ref(file, parameter["$ref"])
                resolved = _resolve_pointer(self._files.load(target), fragment)
            if resolved.get("in") == "body":
                return str(resolved["name"])
        return None

    # ---- loading: other providers ------------------------------------------------------------------

    def _find_other_examples(self) -> dict[str, list[Path]]:
        """Network and private DNS example files by resource kind (see RESOURCE_ROUTES)."""
        by_kind: dict[str, list[Path]] = {}
        for folder in _EXAMPLE_DIRS:
            for file in sorted((self.specs_dir / folder).glob("**/examples/*.json")):
                routed = route_for_example(file.stem)
                if routed is not None:
                    by_kind.setdefault(routed[0].kind, []).append(file)
        return by_kind

    def _resource_shape(self, kind: str) -> Shape:
        if kind in WELL_KNOWN_SHAPES:
            return WELL_KNOWN_SHAPES[kind]
        bodies = [
            response["body"]
            for file in self._other_examples.get(kind, [])
            for status, response in self._files.load(file).get("responses", {}).items()
            if status in ("200", "201") and isinstance(response.get("body"), dict)
        ]
        if not bodies:
            raise ValueError(f"no example and no well-known shape for {kind}")
        template: JSON = {}
        for body in bodies:
            template = _merge_templates(template, _shape_of(body))
        if "location" in template:
            # A tracked resource (it has a location) may carry tags: common-types v6 TrackedResource.
            template.setdefault("tags", MapOf(""))
        for (outer, key_path), inner in EMBEDDED_KINDS.items():
            if outer == kind:
                template = _embed(template, key_path, self._resource_shape(inner).template)
        # Required: the id/name/type/provisioningState keys that every example returns.
        required = tuple(
            key for key in _REQUIRED_LOOKING_KEYS if all(not list(_missing_keys(b, [key], "")) for b in bodies)
        )
        return Shape(template, required)

    def _example_headers(self, route: ResourceRoute, method: str) -> dict[str, tuple[str, ...]]:
        headers: dict[str, tuple[str, ...]] = {}
        for file in self._other_examples.get(route.kind, []):
            routed = route_for_example(file.stem)
            if routed is None or routed[1] != method:
                continue
            for status, response in self._files.load(file).get("responses", {}).items():
                headers[status] = tuple(dict.fromkeys((*headers.get(status, ()), *response.get("headers", {}))))
        return headers

    def _resource_operations(self) -> Iterator[Operation]:
        for route in RESOURCE_ROUTES:
            yield from self._route_operations(route, self._resource_shape(route.kind))

    def _route_operations(self, route: ResourceRoute, shape: Shape) -> Iterator[Operation]:
        if route.item:  # empty for kinds listed only
            yield self._table_operation(route, "GET", route.item, "Get", {"200": shape})
        yield self._table_operation(route, "GET", route.collection, "List", {"200": shape.as_list()})
        if route.put_statuses:
            put_headers = self._example_headers(route, "PUT")
            # ARM answers 202 to an asynchronous PUT without a body; 200/201 carry the resource.
            put = {status: None if status == "202" else shape for status in route.put_statuses}
            yield self._table_operation(route, "PUT", route.item, "CreateOrUpdate", put, put_headers)
        if route.patch:
            yield self._table_operation(route, "PATCH", route.item, "Update", {"200": shape, "202": None})
        if route.delete_statuses:
            delete = dict.fromkeys(route.delete_statuses)
            yield self._table_operation(route, "DELETE", route.item, "Delete", delete)
        if route.head:
            yield self._table_operation(route, "HEAD", route.item, "CheckExistence", {"204": None, "404": None})

    def _table_operation(
        self,
        route: ResourceRoute,
        method: str,
        template: str,
        verb: str,
        statuses: Mapping[str, Shape | None],
        headers: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Operation:
        responses = {
            status: DeclaredResponse(status=status, shape=shape, headers=(headers or {}).get(status, ()))
            for status, shape in statuses.items()
        }
        responses["default"] = DeclaredResponse(status="default", schema=self._error_schema)
        examples = tuple(
            file
            for file in (self._other_examples.get(route.kind, []) if route.has_examples else [])
            if (routed := route_for_example(file.stem)) is not None
            and routed[1] == method
            and (template == route.collection) == routed[2]
        )
        return Operation(
            method=method,
            template=template,
            operation_id=f"{route.kind}_{verb}",
            source=route.source,
            responses=responses,
            examples=examples,
        )

    def _polling_operations(self) -> Iterator[Operation]:
        for source, kind, template in POLLING_ROUTES:
            if kind == "AzureAsyncOperation":
                statuses = {"200": DeclaredResponse("200", shape=ASYNC_OPERATION_STATUS_SHAPE)}
            else:
                statuses = {
                    "200": DeclaredResponse("200", shape=ANY_BODY_SHAPE),
                    "202": DeclaredResponse("202"),
                    "204": DeclaredResponse("204"),
                }
            statuses["default"] = DeclaredResponse(status="default", schema=self._error_schema)
            yield Operation("GET", template, f"{source}_{kind}", source, statuses)


@functools.cache
def _cached_spec(specs_dir: Path) -> ArmSpec:
    return ArmSpec(specs_dir)


@functools.cache
def _cached_older_spec(specs_dir: Path, pg_spec: tuple[str, str]) -> ArmSpec:
    return ArmSpec(specs_dir, closed_objects=False, pg_spec=pg_spec)


def _template_key(template: str) -> str:
    """A template with parameter names and literal case erased, to compare operations across files."""
    return re.sub(r"\{[^}/]+\}", "{}", template).lower().rstrip("/")


# --------------------------------------------------------------------------------------------------
# Record files
# --------------------------------------------------------------------------------------------------


def validate_record_file(path: Path | str, spec: ArmSpec | None = None) -> list[str]:
    """Problems of every exchange in an emulator record file (one JSON object per line).

    Each line: {"method", "path", "query", "status", "request_body", "response_body"} and, optionally,
    "response_headers". Problems are prefixed with `line N: METHOD path -> status:`.
    """
    spec = spec or ArmSpec.load()
    problems: list[str] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            method, request_path, status = str(record["method"]), str(record["path"]), int(record["status"])
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"line {number}: not a record ({exc})")
            continue
        found = spec.validate_response(
            method, request_path, status, record.get("response_body"), record.get("response_headers")
        )
        problems += (f"line {number}: {method} {request_path} -> {status}: {problem}" for problem in found)
    return problems
