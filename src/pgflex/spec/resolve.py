"""Resolve one validated server of the document (defaults merged, rules passed) into the engine's `Server`.

Defaults are Azure's: backups kept 7 days and not geo-redundant, a system-managed maintenance window, high
availability off, password authentication only, databases UTF8 / en_US.utf8. Settings the spec leaves to Azure
stay None (the availability zones, the storage tier, the Entra tenant, the Entra administrators of `entra:
true`): pgflex neither writes nor compares them.
"""

from __future__ import annotations

from typing import TypeVar

from pgflex.spec.checks import normalise_parameter
from pgflex.spec.document import AuthenticationSpec, EnvironmentSpec, ServerSpec, TlsSpec
from pgflex.spec.findings import Loc
from pgflex.spec.model import (
    Administrator,
    Authentication,
    EntraAdministrator,
    FirewallRule,
    PrivateAccess,
    PublicAccess,
    SecretRef,
    Server,
    TlsPolicy,
)
from pgflex.spec.rules import ServerVerdict
from pgflex.spec.settings import SYSTEM_MANAGED_WINDOW, Backup, HighAvailability
from pgflex.spec.source_map import SourceMap

T = TypeVar("T")


def _required(value: T | None, what: str) -> T:
    if value is None:  # the rules report these first; reaching here is a bug
        raise RuntimeError(f"{what} should have been validated")
    return value


def resolve_server(
    spec: ServerSpec, verdict: ServerVerdict, loc: Loc, source: SourceMap, environment: EnvironmentSpec
) -> Server:
    tls = spec.tls or TlsSpec()
    administrator = None
    if spec.administrator is not None:
        password = spec.administrator.password
        administrator = Administrator(
            login=spec.administrator.login,
            password=SecretRef(
                env_var=password.from_env,
                key_vault_secret=password.key_vault_secret,
                origin=source.location((*loc, "administrator", "password")),
            ),
        )
    access: PublicAccess | PrivateAccess
    if spec.access.public is not None:
        rules = tuple(FirewallRule.from_spec(rule) for rule in spec.access.public.firewall_rules)
        access = PublicAccess(firewall_rules=rules)
    else:
        private = _required(spec.access.private, "access.private")
        access = PrivateAccess(subnet=private.subnet, private_dns_zone=private.private_dns_zone)
    return Server(
        name=spec.name,
        version=_required(spec.version, "version"),
        sku=_required(spec.sku, "sku"),
        storage=_required(spec.storage, "storage"),
        availability_zone=spec.availability_zone,
        high_availability=spec.high_availability or HighAvailability(),
        backup=spec.backup or Backup(),
        maintenance_window=spec.maintenance_window or SYSTEM_MANAGED_WINDOW,
        tags=dict(spec.tags or {}),
        administrator=administrator,
        authentication=resolve_authentication(spec.authentication or AuthenticationSpec(), environment),
        tls=TlsPolicy(
            require_secure_transport=tls.require_secure_transport,
            min_version=tls.min_version,
            max_version=tls.max_version,
        ),
        parameters={name: normalise_parameter(name, value) for name, value in sorted((spec.parameters or {}).items())},
        access=access,
        databases=tuple(spec.databases or ()),
        prune_databases=bool(spec.prune_databases),
        exceptions=tuple(spec.exceptions),
        applied_exceptions=tuple(verdict.applied),
        origin=source.location(loc),
    )


def resolve_authentication(spec: AuthenticationSpec, environment: EnvironmentSpec) -> Authentication:
    """Tenants default from the Entra block to the environment; None leaves the tenant to Azure."""
    entra = spec.entra
    if entra is None:
        return Authentication(password=spec.password, entra=False)
    tenant = entra.tenant_id or environment.tenant
    administrators = None
    if entra.administrators is not None:
        administrators = tuple(
            EntraAdministrator(
                object_id=admin.object_id,
                principal_name=admin.principal_name,
                principal_type=admin.principal_type,
                tenant_id=admin.tenant_id or tenant,
            )
            for admin in entra.administrators
        )
    return Authentication(password=spec.password, entra=True, tenant_id=tenant, entra_administrators=administrators)


__all__ = ["resolve_authentication", "resolve_server"]
