"""Service norms: catchments, adequate capacity and the rules that flag underserved places.

The norms live in a versioned TOML file an administrator edits (``config/norms.toml``); this
module only turns its parsed content into a checked ``Norms`` value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise

import pandas as pd

from geo.catalogue import DEFAULT_SERVICES, DELIVERY_MODES, DISTANCE_MODES, PROVIDER_KINDS, is_service_code
from geo.errors import ConfigurationError, UnknownServiceError

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
    #: the catalogue (``geo.catalogue``): the service's names, how it is delivered (the first mode
    #: is its main one: a registry row that names none is delivered so) and who provides it
    label_fa: str = ""
    label_en: str = ""
    modes: tuple[str, ...] = ("centre",)
    provider_kinds: tuple[str, ...] = ("ngo",)
    #: how far a provider of each mode but ``centre`` and ``remote`` reaches (km of travel, and
    #: minutes on roads); a mode not named reaches as far as the catchment
    reach_km: Mapping[str, float] = field(default_factory=dict)
    reach_min: Mapping[str, float] = field(default_factory=dict)

    @property
    def main_mode(self) -> str:
        return self.modes[0]

    @property
    def remote_only(self) -> bool:
        """Delivered only remotely: distance says nothing about being served."""
        return all(m == "remote" for m in self.modes)

    def own_reach(self, mode: str, unit: str) -> bool:
        """Whether the norms give ``mode`` a reach of its own (else it reaches as a centre does)."""
        return mode in (self.reach_min if unit == "min" else self.reach_km)

    def reach(self, mode: str, unit: str) -> float:
        """How far a provider delivering in ``mode`` serves, in metres or minutes (inf: remote)."""
        if mode == "remote":
            return float("inf")
        if mode == "centre":
            return self.catchment(unit)
        if unit == "min":
            found = self.reach_min.get(mode)
            return float(found) if found is not None else self.catchment(unit)
        found = self.reach_km.get(mode)
        return 1000.0 * float(found) if found is not None else self.catchment(unit)

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
class ServiceCost:
    """What a centre of one service type costs (in the cost table's currency)."""

    #: the fixed cost of a new centre, whatever its capacity
    new_centre: float
    #: and per place of its capacity
    per_place: float
    #: per place added to an existing centre's capacity
    increase_per_place: float

    def new_centre_cost(self, capacity: float) -> float:
        """A new centre of ``capacity`` places: the fixed cost and its places."""
        return self.new_centre + self.per_place * capacity


@dataclass(frozen=True)
class CostTable:
    """The cost of each planning action (``[costs]`` in the norms file).

    ``synthetic`` says the figures are demo assumptions: every answer that prices with them
    repeats it.
    """

    currency: str
    synthetic: bool
    services: Mapping[str, ServiceCost]
    #: outreach: per trip, and per km travelled
    outreach_per_trip: float
    outreach_per_km: float
    #: a volunteer group set up in a place
    volunteer_group: float

    def label(self, version: str) -> str:
        """Which cost table priced an answer: the norms' version, and whether it is synthetic."""
        return f"norms {version} [costs]" + (" (synthetic demo figures)" if self.synthetic else "")


COST_FIELDS = ("outreach_per_trip", "outreach_per_km", "volunteer_group")


def _cost_table(raw: Mapping | None, catalogue: Mapping) -> CostTable | None:
    """The ``[costs]`` table, checked; None when the norms file has none (nothing is priced)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("norms file: [costs] must be a table")
    known = {"currency", "synthetic", "services", *COST_FIELDS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigurationError(f"norms file: [costs] has unknown entries {unknown}")
    services_raw = raw.get("services")
    if not isinstance(services_raw, Mapping):
        raise ConfigurationError(
            "norms file: [costs] needs a [costs.services.<service type>] table per service"
        )
    missing = set(catalogue) - set(services_raw)
    unknown_services = set(services_raw) - set(catalogue)
    if missing or unknown_services:
        raise ConfigurationError(
            f"norms file: [costs.services] missing {sorted(missing)}, unknown {sorted(unknown_services)}"
        )
    fields = ("new_centre", "per_place", "increase_per_place")
    services = {}
    for name, values in services_raw.items():
        if not isinstance(values, Mapping) or set(values) != set(fields):
            raise ConfigurationError(f"norms file: [costs.services.{name}] needs exactly {', '.join(fields)}")
        services[name] = ServiceCost(**{f: _cost(values[f], f"costs.services.{name}.{f}") for f in fields})
    synthetic = raw.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise ConfigurationError(f"norms file: costs.synthetic must be true or false, not {synthetic!r}")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise ConfigurationError('norms file: [costs] needs a currency (e.g. "million rials")')
    return CostTable(
        currency=currency,
        synthetic=synthetic,
        services=services,
        **{f: _cost(raw.get(f), f"costs.{f}") for f in COST_FIELDS},
    )


def _cost(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigurationError(f"norms file: {what} must be a number, not {value!r}")
    if value < 0 or value == float("inf"):
        raise ConfigurationError(f"norms file: {what} must be a cost of zero or more, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Grade:
    """One grade of the evaluation scale: its code, what it means, and its capacity weight."""

    code: str
    fa: str
    en: str
    #: the share of a centre's licensed capacity that counts when capacity is weighted by rating
    weight: float


@dataclass(frozen=True)
class RatingScale:
    """The organisation's evaluation scale (``[ratings]`` in the norms file).

    ``grades`` run from the best to the worst, in the file's order. ``weight_capacity_by_rating``
    makes every measure that counts capacity count a centre's effective capacity (licensed ×
    its grade's weight, ``geo.ratings``); ``unrated_weight`` is what a centre with no evaluation
    on or before the day counts as. ``synthetic`` says the weights are demo assumptions.
    """

    grades: Mapping[str, Grade]
    weight_capacity_by_rating: bool = False
    unrated_weight: float = 1.0
    synthetic: bool = False

    @property
    def codes(self) -> tuple[str, ...]:
        """The grades, best first."""
        return tuple(self.grades)

    def rank(self, code: str | None) -> int:
        """0 for the best grade, 1 for the next, …; an unrated centre ranks after the worst."""
        return self.codes.index(code) if code in self.grades else len(self.grades)

    def weight(self, code: str | None) -> float:
        """The capacity weight of a grade; ``unrated_weight`` for no grade (None)."""
        grade = self.grades.get(code) if code is not None else None
        return grade.weight if grade is not None else self.unrated_weight

    def label(self, version: str) -> str:
        """Which scale weighted an answer: the norms' version, and whether it is synthetic."""
        return f"norms {version} [ratings]" + (" (synthetic demo weights)" if self.synthetic else "")


RATING_FIELDS = ("synthetic", "weight_capacity_by_rating", "unrated_weight", "grades")


def _rating_scale(raw: Mapping | None) -> RatingScale | None:
    """The ``[ratings]`` table, checked; None when the norms file has none (nothing is rated)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("norms file: [ratings] must be a table")
    unknown = sorted(set(raw) - set(RATING_FIELDS))
    if unknown:
        raise ConfigurationError(f"norms file: [ratings] has unknown entries {unknown}")
    grades_raw = raw.get("grades")
    if not isinstance(grades_raw, Mapping) or not grades_raw:
        raise ConfigurationError("norms file: [ratings] needs a [ratings.grades.<grade>] table per grade")
    grades: dict[str, Grade] = {}
    for code, values in grades_raw.items():
        what = f"ratings.grades.{code}"
        if not isinstance(code, str) or not code.strip() or code != code.strip() or len(code) > 8:
            raise ConfigurationError(f"norms file: {what}: a grade is a short code such as A, not {code!r}")
        if not isinstance(values, Mapping) or set(values) != {"fa", "en", "weight"}:
            raise ConfigurationError(f"norms file: [{what}] needs exactly fa, en, weight")
        for lang in ("fa", "en"):
            if not isinstance(values[lang], str) or not values[lang].strip():
                raise ConfigurationError(f"norms file: {what}.{lang} must say what the grade means")
        grades[code] = Grade(code, values["fa"], values["en"], _weight(values["weight"], f"{what}.weight"))
    weights = [g.weight for g in grades.values()]
    if any(later > earlier for earlier, later in pairwise(weights)):
        raise ConfigurationError(
            "norms file: [ratings.grades] run from the best grade to the worst, and a worse grade's "
            f"weight cannot exceed a better one's: {dict(zip(grades, weights, strict=True))}"
        )
    flags = {}
    for name in ("synthetic", "weight_capacity_by_rating"):
        value = raw.get(name, False)
        if not isinstance(value, bool):
            raise ConfigurationError(f"norms file: ratings.{name} must be true or false, not {value!r}")
        flags[name] = value
    return RatingScale(
        grades=grades,
        unrated_weight=_weight(raw.get("unrated_weight", 1.0), "ratings.unrated_weight"),
        **flags,
    )


def _weight(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigurationError(f"norms file: {what} must be a number, not {value!r}")
    if not 0 <= value <= 1:
        raise ConfigurationError(f"norms file: {what} must be a share of capacity from 0 to 1, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Speciality:
    """One volunteer speciality: its names and the places one active member counts for, per
    service it supplies."""

    code: str
    fa: str
    en: str
    #: service type -> places (persons served) per active member
    places: Mapping[str, float]


@dataclass(frozen=True)
class VolunteerNorms:
    """What the volunteer network supplies (``[volunteers]`` in the norms file).

    ``count_as_supply`` makes saturation, access and the flags count volunteer places beside
    licensed capacity (``geo.volunteers``); off, volunteers count nothing. ``synthetic`` says the
    factors are demo assumptions.
    """

    specialities: Mapping[str, Speciality]
    count_as_supply: bool = False
    synthetic: bool = False

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.specialities)

    def factor(self, speciality: str, service_type: str) -> float:
        """Places per active member of ``speciality`` for ``service_type`` (0: not supplied)."""
        known = self.specialities.get(speciality)
        return 0.0 if known is None else float(known.places.get(service_type, 0.0))

    def label(self, version: str) -> str:
        """Which factors counted volunteers: the norms' version, and whether they are synthetic."""
        return f"norms {version} [volunteers]" + (" (synthetic demo factors)" if self.synthetic else "")


VOLUNTEER_FIELDS = ("synthetic", "count_as_supply", "specialities")


def _volunteer_norms(raw: Mapping | None, catalogue: Mapping) -> VolunteerNorms | None:
    """The ``[volunteers]`` table, checked; None when the norms file has none."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("norms file: [volunteers] must be a table")
    unknown = sorted(set(raw) - set(VOLUNTEER_FIELDS))
    if unknown:
        raise ConfigurationError(f"norms file: [volunteers] has unknown entries {unknown}")
    specs_raw = raw.get("specialities")
    if not isinstance(specs_raw, Mapping) or not specs_raw:
        raise ConfigurationError(
            "norms file: [volunteers] needs a [volunteers.specialities.<speciality>] table per speciality"
        )
    specialities: dict[str, Speciality] = {}
    for code, values in specs_raw.items():
        what = f"volunteers.specialities.{code}"
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", code):
            raise ConfigurationError(
                f"norms file: {what}: a speciality is a short lower-case code such as doctor, not {code!r}"
            )
        if not isinstance(values, Mapping) or set(values) != {"fa", "en", "places"}:
            raise ConfigurationError(f"norms file: [{what}] needs exactly fa, en, places")
        for lang in ("fa", "en"):
            if not isinstance(values[lang], str) or not values[lang].strip():
                raise ConfigurationError(f"norms file: {what}.{lang} must name the speciality")
        places_raw = values["places"]
        if not isinstance(places_raw, Mapping):
            raise ConfigurationError(
                f"norms file: {what}.places must be a table of service = places per member"
            )
        unknown_services = sorted(set(places_raw) - set(catalogue))
        if unknown_services:
            raise ConfigurationError(f"norms file: {what}.places names unknown services {unknown_services}")
        places = {}
        for service, factor in places_raw.items():
            if isinstance(factor, bool) or not isinstance(factor, int | float) or factor != factor:
                raise ConfigurationError(
                    f"norms file: {what}.places.{service} must be a number, not {factor!r}"
                )
            if not 0 <= factor <= 100:
                raise ConfigurationError(
                    f"norms file: {what}.places.{service} must be places per member from 0 to 100, not {factor!r}"
                )
            places[service] = float(factor)
        specialities[code] = Speciality(code, values["fa"], values["en"], places)
    flags = {}
    for name in ("synthetic", "count_as_supply"):
        value = raw.get(name, False)
        if not isinstance(value, bool):
            raise ConfigurationError(f"norms file: volunteers.{name} must be true or false, not {value!r}")
        flags[name] = value
    return VolunteerNorms(specialities=specialities, **flags)


#: The entries of ``[services.<code>]`` that make the catalogue rather than the measures' norms.
CATALOGUE_FIELDS = ("label_fa", "label_en", "modes", "provider_kinds", "reach_km", "reach_min")


def _refused(en: str, fa: str) -> ConfigurationError:
    """A catalogue entry that cannot be used, said in English and Persian (``message_fa``)."""
    err = ConfigurationError(f"norms file: {en}")
    err.message_fa = fa
    return err


def _catalogue_entry(name, values) -> dict:
    """The catalogue part of ``[services.<name>]``, checked, with today's eight services' labels,
    modes and providers where the file names none."""
    what = f"services.{name}"
    if not is_service_code(name):
        raise _refused(
            f"[{what}]: a service is a short lower-case code such as home_care, not {name!r}",
            f"[{what}]: کد خدمت کوتاه و با حرف کوچک لاتین است، مانند home_care",
        )
    if not isinstance(values, Mapping):
        raise _refused(f"[{what}] must be a table", f"[{what}] باید یک جدول باشد")
    default = DEFAULT_SERVICES.get(name)
    out: dict = {}
    for i, lang in enumerate(("label_fa", "label_en")):
        label = values.get(lang, default[i] if default else None)
        if not isinstance(label, str) or not label.strip() or len(label) > 120:
            raise _refused(
                f"{what}.{lang} must name the service (a service not among the eight of the "
                "default catalogue needs label_fa and label_en)",
                f"{what}.{lang}: نام خدمت لازم است (خدمتی بیرون از هشت خدمت پیش‌فرض، "
                "label_fa و label_en می‌خواهد)",
            )
        out[lang] = label.strip()
    for key, allowed, fallback in (
        ("modes", DELIVERY_MODES, default[2] if default else ("centre",)),
        ("provider_kinds", PROVIDER_KINDS, default[3] if default else ("ngo",)),
    ):
        chosen = values.get(key, fallback)
        if (
            not isinstance(chosen, list | tuple)
            or not chosen
            or any(c not in allowed for c in chosen)
            or len(set(chosen)) != len(chosen)
        ):
            raise _refused(
                f"{what}.{key} must list one or more of {', '.join(allowed)} "
                f"(each once; the first mode is the main one), not {chosen!r}",
                f"{what}.{key}: یک یا چند مورد از {'، '.join(allowed)}، هر کدام یک بار "
                f"(نخستین شیوه، شیوهٔ اصلی است)؛ آمده: {chosen!r}",
            )
        out[key] = tuple(chosen)
    for key in ("reach_km", "reach_min"):
        table = values.get(key, {})
        if not isinstance(table, Mapping):
            raise _refused(
                f"{what}.{key} must be a table of mode = {key[6:]}",
                f"{what}.{key} باید جدولی از «شیوه = اندازه» باشد",
            )
        for mode, reach in table.items():
            if mode not in DISTANCE_MODES or mode == "centre":
                raise _refused(
                    f"{what}.{key}.{mode}: a reach is set for outreach, community or home "
                    "(a centre reaches its catchment; remote has no reach)",
                    f"{what}.{key}.{mode}: دامنه برای outreach، community یا home تعیین می‌شود "
                    "(دامنهٔ مرکز، حوزهٔ خدمت آن است و ارائهٔ از راه دور دامنه ندارد)",
                )
            if isinstance(reach, bool) or not isinstance(reach, int | float) or not 0 < reach < 10_000:
                raise _refused(
                    f"{what}.{key}.{mode} must be a positive number, not {reach!r}",
                    f"{what}.{key}.{mode} باید عددی مثبت باشد",
                )
        out[key] = {str(m): float(r) for m, r in table.items()}
    return out


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
    #: what planning actions cost (``[costs]``); None: the norms price nothing
    costs: CostTable | None = None
    #: the evaluation scale (``[ratings]``); None: centres are not rated
    ratings: RatingScale | None = None
    #: the volunteer network's specialities and factors (``[volunteers]``); None: none counted
    volunteers: VolunteerNorms | None = None

    def __post_init__(self) -> None:
        # Norms built in code (tests, scenarios) may leave the catalogue's names out: today's
        # eight services keep theirs, any other is named by its code.
        completed = {}
        for code, s in self.services.items():
            if s.label_fa and s.label_en:
                completed[code] = s
                continue
            default = DEFAULT_SERVICES.get(code)
            completed[code] = replace(
                s,
                label_fa=s.label_fa or (default[0] if default else code),
                label_en=s.label_en or (default[1] if default else code),
            )
        object.__setattr__(self, "services", completed)

    @property
    def service_types(self) -> dict[str, tuple[str, str]]:
        """The catalogue's services: code -> (Persian, English), in the norms' order."""
        return {code: (s.label_fa, s.label_en) for code, s in self.services.items()}

    def check_service(self, service_type: str) -> str:
        """``service_type`` if the catalogue has it; ``ConfigurationError`` naming it otherwise."""
        if service_type not in self.services:
            raise UnknownServiceError(service_type, tuple(self.services))
        return service_type

    @property
    def counts_volunteers(self) -> bool:
        """Whether measures count volunteer places beside licensed capacity."""
        return self.volunteers is not None and self.volunteers.count_as_supply

    @property
    def weights_capacity(self) -> bool:
        """Whether measures count capacity weighted by each centre's rating."""
        return self.ratings is not None and self.ratings.weight_capacity_by_rating

    @property
    def unit(self) -> str:
        """The unit of the chosen travel cost: ``"m"`` (straight line) or ``"min"`` (roads)."""
        return "min" if self.travel == "roads" else "m"

    @classmethod
    def from_dict(cls, raw: Mapping) -> Norms:
        """Build and check norms from the parsed TOML; ``ConfigurationError`` names what is wrong."""
        services_raw = raw.get("services")
        if not isinstance(services_raw, Mapping) or not services_raw:
            raise ConfigurationError("norms file: needs a [services.<service type>] table per service")
        catalogue = {name: _catalogue_entry(name, values) for name, values in services_raw.items()}
        costs = _cost_table(raw.get("costs"), catalogue)
        ratings = _rating_scale(raw.get("ratings"))
        volunteers = _volunteer_norms(raw.get("volunteers"), catalogue)
        try:
            services = {
                name: ServiceNorm(
                    **{k: v for k, v in values.items() if k not in CATALOGUE_FIELDS}, **catalogue[name]
                )
                for name, values in services_raw.items()
            }
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
                costs=costs,
                ratings=ratings,
                volunteers=volunteers,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigurationError(f"norms file: missing or unexpected entry {err}") from err
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
