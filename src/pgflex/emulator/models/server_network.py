"""Where a flexible server is reached: public access, or a delegated subnet with a private DNS zone and an address."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..dataplane import PrivateNetwork
from ..errors import ArmError, InvalidParameterValue
from ..store import Record, Store
from .context import require_object
from .ids import SERVER_TYPE, parse_resource_id
from .network import Networks, is_delegated_to_postgres
from .privatedns import PrivateDns
from .server_rules import DNS_SUFFIX
from .values import canonical

ACCESS = ("Enabled", "Disabled")

ADDRESS = "address"  # private fact of a server: its IP in its delegated subnet


class ServerNetworks:
    def __init__(self, store: Store, networks: Networks, dns: PrivateDns) -> None:
        self._store = store
        self._networks = networks
        self._dns = dns

    def new(self, name: str, requested: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """A new server's ``network`` and, in a delegated subnet, the address it takes there."""
        subnet_id = requested.get("delegatedSubnetResourceId")
        zone_id = requested.get("privateDnsZoneArmResourceId")
        access = requested.get("publicNetworkAccess")
        if access is not None:
            access = canonical(access, ACCESS, "publicNetworkAccess")
        if not subnet_id:
            if zone_id:
                raise InvalidParameterValue("A private DNS zone is only used with a delegated subnet.")
            return {"publicNetworkAccess": access or "Enabled"}, None
        if access == "Enabled":
            raise _public_with_subnet()
        subnet = self._networks.subnet_by_id(str(subnet_id))
        if subnet is None:
            raise InvalidParameterValue(f"The subnet '{subnet_id}' does not exist.", code="SubnetNotFound")
        if not is_delegated_to_postgres(subnet):
            raise InvalidParameterValue(
                f"The subnet '{subnet_id}' is not delegated to Microsoft.DBforPostgreSQL/flexibleServers.",
                code="SubnetNotDelegated",
            )
        if not zone_id:
            raise InvalidParameterValue(
                "A server in a delegated subnet needs a private DNS zone (privateDnsZoneArmResourceId).",
                code="PrivateDnsZoneRequired",
            )
        zone_name = parse_resource_id(str(zone_id)).get("privatednszones", "")
        if not zone_name.lower().endswith("." + DNS_SUFFIX) or zone_name.lower() == f"{name}.{DNS_SUFFIX}":
            raise InvalidParameterValue(
                f"The private DNS zone '{zone_name}' must end with '.{DNS_SUFFIX}' and differ from the "
                "server's own host name.",
                code="PrivateDnsZoneHasWrongZoneSuffix",
            )
        zone = self._dns.zone_by_id(str(zone_id))
        if zone is None:
            raise InvalidParameterValue(
                f"The private DNS zone '{zone_id}' does not exist.", code="PrivateDnsZoneNotFound"
            )
        network = {
            "delegatedSubnetResourceId": subnet.body["id"],
            "privateDnsZoneArmResourceId": zone.body["id"],
            "publicNetworkAccess": "Disabled",
        }
        return network, self._next_address(subnet)

    @staticmethod
    def updated(current: dict[str, Any], requested: Any) -> dict[str, Any]:
        requested = require_object(requested, "network")
        if requested.get("publicNetworkAccess") is None:
            return current
        access = canonical(requested["publicNetworkAccess"], ACCESS, "publicNetworkAccess")
        if current.get("delegatedSubnetResourceId") and access == "Enabled":
            raise _public_with_subnet()
        return {**current, "publicNetworkAccess": access}

    def zone_for(self, server: Record) -> Record | None:
        zone_id = server.body["properties"]["network"].get("privateDnsZoneArmResourceId")
        return self._dns.zone_by_id(zone_id) if zone_id else None

    def publish(self, server: Record) -> None:
        """The server's A record in its private zone, if it has one."""
        zone = self.zone_for(server)
        if zone is not None:
            self._dns.set_a_record(zone, server.body["name"], [str(server.private[ADDRESS])])

    def withdraw(self, server: Record) -> None:
        zone = self.zone_for(server)
        if zone is not None:
            self._dns.remove_a_record(zone.id, server.body["name"])

    @staticmethod
    def private_network(server: Record) -> PrivateNetwork | None:
        """A server in a delegated subnet lives in that subnet's virtual network, at its A record's address."""
        subnet_id = server.body["properties"]["network"].get("delegatedSubnetResourceId")
        address = server.private.get(ADDRESS)
        if not subnet_id or not address:
            return None
        # .../virtualNetworks/<vnet>/subnets/<subnet>: every subnet of one virtual network shares its namespace.
        vnet_id = re.sub(r"/subnets/[^/]+$", "", str(subnet_id), flags=re.IGNORECASE)
        return PrivateNetwork(network_id=vnet_id, address=str(address))

    def _next_address(self, subnet: Record) -> str:
        network = ipaddress.IPv4Network(subnet.body["properties"]["addressPrefix"])
        taken = {
            s.private.get(ADDRESS)
            for s in self._store.of_type(SERVER_TYPE)
            if s.body["properties"]["network"].get("delegatedSubnetResourceId", "").lower() == subnet.key
        }
        # Azure keeps the first four addresses of every subnet and the last one.
        for host in list(network.hosts())[3:]:
            if str(host) not in taken:
                return str(host)
        raise ArmError(f"Subnet '{subnet.body['name']}' has no free address.", code="SubnetIsFull")


def _public_with_subnet() -> ArmError:
    return ArmError(
        "Public network access cannot be enabled for a server with a delegated subnet.",
        code="ConflictingPublicNetworkAccessAndVirtualNetworkConfiguration",
    )
