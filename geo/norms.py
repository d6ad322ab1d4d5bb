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


@dataclass(frozen=True)
class ServiceNorm:
    catchment_km: float
    norm_per_10k: float
    min_population: int
    max_distance_km: float
    min_access_share: float
    #: farthest a centre reaches out to a village it is delegated (km of travel); None: twice
    #: the catchment
    outreach_km: float | None = None

    @property
    def outreach_m(self) -> float:
        return 1000.0 * (self.outreach_km if self.outreach_km is not None else 2.0 * self.catchment_km)

    @property
    def per_person(self) -> float:
        """The norm as capacity per target person: what an E2SFCA access score is measured against."""
        return self.norm_per_10k / 1e4


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
            )
        except (KeyError, TypeError) as err:
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
        return norms

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
