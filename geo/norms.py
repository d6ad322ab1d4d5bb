"""Service norms: catchments, adequate capacity and the rules that flag underserved places.

The norms live in a versioned TOML file an administrator edits (``config/norms.toml``); this
module only turns its parsed content into a checked ``Norms`` value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from geo.errors import ConfigurationError
from geo.schema import SERVICE_TYPES

#: The travel costs a norms file may choose.
TRAVEL = ("straight", "roads")


@dataclass(frozen=True)
class ServiceNorm:
    catchment_km: float
    norm_per_10k: float
    min_population: int
    max_distance_km: float
    min_access_share: float
    #: the same catchment and maximum travel as times on roads (minutes); needed for roads
    catchment_min: float | None = None
    max_travel_min: float | None = None
    #: farthest a centre reaches out to a village it is delegated (km of travel); None: twice
    #: the catchment
    outreach_km: float | None = None
    #: the same on roads (minutes); None: twice the catchment in minutes
    outreach_min: float | None = None

    @property
    def outreach_m(self) -> float:
        return 1000.0 * (self.outreach_km if self.outreach_km is not None else 2.0 * self.catchment_km)

    def outreach(self, unit: str) -> float:
        """The delegation outreach in a travel cost's unit (metres or minutes)."""
        if unit == "min":
            return self.outreach_min if self.outreach_min is not None else 2.0 * self.catchment(unit)
        return self.outreach_m

    def catchment(self, unit: str) -> float:
        """The catchment in a travel cost's unit: metres (``"m"``) or minutes (``"min"``)."""
        return _minutes(self.catchment_min, "catchment_min") if unit == "min" else 1000.0 * self.catchment_km

    def max_cost(self, unit: str) -> float:
        """The flag rule's farthest nearest centre, in metres or minutes."""
        if unit == "min":
            return _minutes(self.max_travel_min, "max_travel_min")
        return 1000.0 * self.max_distance_km

    @property
    def per_person(self) -> float:
        """The norm as capacity per target person: what an E2SFCA access score is measured against."""
        return self.norm_per_10k / 1e4


@dataclass(frozen=True)
class RoadNorms:
    """Speeds and the rules that attach places to the road network (minutes, km, km/h)."""

    speeds_kmh: Mapping[str, float]
    off_road_kmh: float = 30.0
    max_off_road_km: float = 10.0
    fallback_kmh: float = 30.0


@dataclass(frozen=True)
class Norms:
    version: str
    detour_factor: float
    saturated_at: float
    underserved_below: float
    target_population_factor: float
    target_distance_factor: float
    priority_weights: Mapping[str, float]
    services: Mapping[str, ServiceNorm]
    #: a place whose target population for a service is below this is never flagged for it
    #: (an estimate of one or two persons is no ground for a flag)
    min_target_population: float = 0.0
    #: which travel cost every measure uses: "straight" (km) or "roads" (minutes)
    travel: str = "straight"
    roads: RoadNorms | None = None

    @property
    def unit(self) -> str:
        """The unit of the chosen travel cost: ``"m"`` (straight line) or ``"min"`` (roads)."""
        return "min" if self.travel == "roads" else "m"

    @classmethod
    def from_dict(cls, raw: Mapping) -> Norms:
        """Build and check norms from the parsed TOML; ``ConfigurationError`` names what is wrong."""
        try:
            services = {name: ServiceNorm(**values) for name, values in raw["services"].items()}
            norms = cls(
                version=str(raw["version"]),
                detour_factor=float(raw.get("detour_factor", 1.0)),
                saturated_at=float(raw["classes"]["saturated_at"]),
                underserved_below=float(raw["classes"]["underserved_below"]),
                target_population_factor=float(raw["target_area"]["population_factor"]),
                target_distance_factor=float(raw["target_area"]["distance_factor"]),
                priority_weights=dict(raw["priority_weights"]),
                services=services,
                min_target_population=float(raw.get("min_target_population", 0.0)),
                travel=str(raw.get("travel", "straight")),
                roads=_road_norms(raw.get("roads")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigurationError(f"norms file: missing or unexpected entry {err}") from err
        missing = set(SERVICE_TYPES) - set(services)
        unknown = set(services) - set(SERVICE_TYPES)
        if missing or unknown:
            raise ConfigurationError(
                f"norms file: services missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        if norms.detour_factor < 1:
            raise ConfigurationError("norms file: detour_factor must be at least 1")
        for name, s in services.items():
            if s.catchment_km <= 0 or s.norm_per_10k <= 0 or s.max_distance_km <= 0:
                raise ConfigurationError(f"norms file: {name} needs positive catchment, norm and distance")
        if not 0 < norms.underserved_below <= 1 <= norms.saturated_at:
            raise ConfigurationError("norms file: need 0 < underserved_below <= 1 <= saturated_at")
        if norms.travel not in TRAVEL:
            raise ConfigurationError(
                f"norms file: travel must be one of {', '.join(TRAVEL)}, not {norms.travel!r}"
            )
        if norms.travel == "roads":
            if norms.roads is None:
                raise ConfigurationError('norms file: travel = "roads" needs a [roads] table with speeds_kmh')
            for name, s in services.items():
                if not (
                    s.catchment_min and s.catchment_min > 0 and s.max_travel_min and s.max_travel_min > 0
                ):
                    raise ConfigurationError(
                        f"norms file: {name} needs positive catchment_min and max_travel_min"
                    )
        if norms.roads is not None:
            r = norms.roads
            if min(r.off_road_kmh, r.max_off_road_km, r.fallback_kmh, *r.speeds_kmh.values()) <= 0:
                raise ConfigurationError("norms file: road speeds and distances must be positive")
        return norms

    def max_catchment(self, unit: str | None = None) -> float:
        """The largest catchment, in ``unit`` (default: the chosen travel's)."""
        unit = unit or self.unit
        return max(s.catchment(unit) for s in self.services.values())

    def access_share(self, access: pd.DataFrame) -> pd.DataFrame:
        """E2SFCA access (capacity per target person, one column per service type) as a share of
        each service's norm: 1.0 is exactly the norm. Aligned with ``access``."""
        return pd.DataFrame(
            {service: access[service] / self.services[service].per_person for service in access.columns},
            index=access.index,
        )

    @property
    def max_catchment_m(self) -> float:
        return 1000.0 * max(s.catchment_km for s in self.services.values())


def _minutes(value: float | None, name: str) -> float:
    """A norm in minutes that travel on roads needs; a clear error when the norms lack it."""
    if value is None:
        raise ConfigurationError(f"travel on roads needs {name} for every service in the norms file")
    return float(value)


def _road_norms(raw: Mapping | None) -> RoadNorms | None:
    if raw is None:
        return None
    values = dict(raw)
    speeds = {str(k): float(v) for k, v in values.pop("speeds_kmh").items()}
    return RoadNorms(speeds_kmh=speeds, **{k: float(v) for k, v in values.items()})
