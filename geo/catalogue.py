"""The service catalogue: which services the organisation licenses, how each is delivered and by whom.

The catalogue is part of the norms (``[services.<code>]`` in the norms file, ``geo.norms``): an
administrator adds a service or changes how one is delivered there, or imports a new norms file
through the service, without touching code. This module holds what the catalogue is made of:
the delivery modes and provider kinds every service chooses from, and the eight services of
today, which a norms file that names no labels, modes or providers falls back on.

A delivery mode says how a provider's places reach people (``ServiceNorm.reach``):

* ``centre``: people travel to the centre, within the service's catchment;
* ``outreach``, ``community``, ``home``: the provider's staff travel out, each within its own
  reach in the norms (``reach_km`` / ``reach_min``);
* ``remote``: by telephone or online: distance does not matter, a provider serves its whole
  province.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: How a service is delivered: code -> (Persian, English).
DELIVERY_MODES: Mapping[str, tuple[str, str]] = {
    "centre": ("در مرکز", "At a centre"),
    "outreach": ("سیار", "Outreach"),
    "community": ("اجتماع‌محور", "Community-based"),
    "home": ("در منزل", "At home"),
    "remote": ("از راه دور", "Remote"),
}

#: The modes whose providers reach people over a distance (all but ``remote``).
DISTANCE_MODES = ("centre", "outreach", "community", "home")

#: Who provides a service: code -> (Persian, English).
PROVIDER_KINDS: Mapping[str, tuple[str, str]] = {
    "ngo": ("سازمان مردم‌نهاد دارای مجوز", "Licensed NGO"),
    "volunteer_group": ("گروه داوطلب", "Volunteer group"),
    "public": ("مرکز دولتی", "Public centre"),
}

#: A service code: short, lower case, as it is written in files and URLs.
SERVICE_CODE = r"[a-z][a-z0-9_]{1,39}"


def is_service_code(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(SERVICE_CODE, value) is not None


#: The eight services of today: code -> (Persian, English, modes, provider kinds). A norms file
#: that names a service's labels, modes or providers overrides these; a service not listed here
#: must name its labels.
DEFAULT_SERVICES: Mapping[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "rehabilitation": (
        "توانبخشی",
        "Rehabilitation",
        ("centre", "outreach", "community"),
        ("ngo", "volunteer_group"),
    ),
    "elderly_care": ("مراقبت از سالمندان", "Elderly care", ("centre", "home"), ("ngo", "volunteer_group")),
    "child_care": ("نگهداری کودکان و نوجوانان", "Child and adolescent care", ("centre",), ("ngo",)),
    "addiction_treatment": (
        "درمان و کاهش آسیب اعتیاد",
        "Addiction treatment",
        ("centre", "outreach"),
        ("ngo", "volunteer_group"),
    ),
    "counselling": ("مشاوره و مددکاری", "Counselling", ("centre", "remote"), ("ngo", "volunteer_group")),
    "home_care": ("مراقبت در منزل", "Home care", ("home",), ("ngo", "volunteer_group")),
    "kindergarten": ("مهدکودک", "Kindergarten", ("centre",), ("ngo",)),
    "employment": (
        "اشتغال و توانمندسازی",
        "Employment and empowerment",
        ("centre", "community"),
        ("ngo", "volunteer_group"),
    ),
}


def labels_of(services: Mapping) -> dict[str, tuple[str, str]]:
    """code -> (Persian, English) of a catalogue (``Norms.services``)."""
    return {code: (s.label_fa, s.label_en) for code, s in services.items()}


__all__ = [
    "DEFAULT_SERVICES",
    "DELIVERY_MODES",
    "DISTANCE_MODES",
    "PROVIDER_KINDS",
    "SERVICE_CODE",
    "is_service_code",
    "labels_of",
]
