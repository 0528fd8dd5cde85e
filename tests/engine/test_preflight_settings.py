"""Pre-flight of the server settings against what a location offers: availability zones per compute size,
storage performance tiers per size, zone-redundant high availability and geo-redundant backup.

The emulator offers all of them everywhere, as its capabilities say (read here through the SDK); the refusals
are checked on a location offering less, as the capabilities of a smaller region would read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pgflex.azure.clients import connect
from pgflex.azure.retry import RetryPolicy
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from pgflex.engine.observe import ObservedServer
from pgflex.engine.offers import LocationOffer, SkuOffer, location_offer
from pgflex.engine.preflight import server_offer_issues
from pgflex.spec import load_spec
from pgflex.spec.locate import SpecLocator
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

GENERAL_PURPOSE = {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}
GIB_256 = 256 * 1024


def test_the_emulator_offers_zones_storage_tiers_and_geo_backup(emulator: EmulatorHandle) -> None:
    clients = connect("local", DEFAULT_SUBSCRIPTION)
    offer = location_offer(clients, "westeurope", RetryPolicy())
    assert offer.skus["standard_d2ds_v5"].zones == frozenset({"1", "2", "3"})
    assert offer.storage_tiers[GIB_256] == frozenset({"P15", "P20", "P30", "P40", "P50"})
    assert offer.storage_tiers[32 * 1024] >= {"P4", "P50"}
    assert offer.geo_backup and offer.zone_redundant_ha and offer.zone_redundant_ha_with_geo_backup


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", "Preflight-Passw0rd!")
    server = public_server(
        unique("pre"),
        {},
        sku=GENERAL_PURPOSE,
        availabilityZone=3,
        highAvailability={"mode": "ZoneRedundant", "standbyAvailabilityZone": 1},
        storage={"sizeGb": 256, "tier": "P40"},
        backup={"geoRedundant": True},
    )
    return write(tmp_path / "env.yaml", environment(unique("rg-pre"), [server]))


def _offer(**overrides: object) -> LocationOffer:
    settings: dict[str, object] = {
        "location": "smallregion",
        "versions": frozenset({"16"}),
        "tiers": frozenset({"GeneralPurpose"}),
        "skus": {
            "standard_d2ds_v5": SkuOffer(
                "Standard_D2ds_v5", "GeneralPurpose", frozenset({"SameZone", "ZoneRedundant"}), frozenset({"1", "2"})
            )
        },
        "storage_mb": {"GeneralPurpose": frozenset({GIB_256})},
        "storage_tiers": {GIB_256: frozenset({"P15", "P20"})},
        **overrides,
    }
    return LocationOffer(**settings)  # type: ignore[arg-type]


def _issues(spec: Path, offer: LocationOffer) -> list[str]:
    env = load_spec(spec)
    [server] = env.servers
    absent = ObservedServer(name=server.name, exists=False)
    return [str(issue) for issue in server_offer_issues(server, absent, offer, SpecLocator(str(spec)))]


def _line(spec: Path, text: str) -> int:
    return next(number for number, line in enumerate(spec.read_text().splitlines(), 1) if text in line)


def test_zones_and_a_storage_tier_the_location_does_not_offer_are_refused_where_written(spec: Path) -> None:
    zone, tier = _issues(spec, _offer())  # the standby's zone 1 is offered
    assert zone.startswith(f"{spec}:{_line(spec, 'availabilityZone')}:")
    assert zone.endswith(
        ": servers[0].availabilityZone: availability zone 3 is not offered for Standard_D2ds_v5 in location "
        "smallregion (offered: 1, 2)"
    )
    assert tier.startswith(f"{spec}:{_line(spec, 'tier: P40')}:")
    assert tier.endswith(
        ": servers[0].storage.tier: storage tier P40 is not offered for 256 GiB in location smallregion "
        "(offered: P15, P20)"
    )


def test_zone_redundant_ha_and_geo_backup_where_the_location_lacks_them(spec: Path) -> None:
    offered = {"storage_tiers": {GIB_256: frozenset({"P15", "P40"})}}
    skus = {
        "standard_d2ds_v5": SkuOffer(
            "Standard_D2ds_v5", "GeneralPurpose", frozenset({"SameZone", "ZoneRedundant"}), frozenset({"1", "2", "3"})
        )
    }
    no_zone_redundancy = _issues(spec, _offer(skus=skus, zone_redundant_ha=False, **offered))
    assert [issue.split(": ", 1)[1] for issue in no_zone_redundancy] == [
        "servers[0].highAvailability.mode: zone-redundant high availability is not offered in location smallregion; "
        "use SameZone or another region"
    ]
    no_geo = _issues(spec, _offer(skus=skus, geo_backup=False, **offered))
    assert [issue.split(": ", 1)[1] for issue in no_geo] == [
        "servers[0].backup.geoRedundant: geo-redundant backup is not offered in location smallregion; set "
        "backup.geoRedundant false or use another region"
    ]
    not_both = _issues(spec, _offer(skus=skus, zone_redundant_ha_with_geo_backup=False, **offered))
    assert [issue.split(": ", 1)[1] for issue in not_both] == [
        "servers[0].backup.geoRedundant: zone-redundant high availability with geo-redundant backup is not offered "
        "in location smallregion"
    ]
    assert _issues(spec, _offer(skus=skus, **offered)) == []
