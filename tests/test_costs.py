"""Costs: the cost table in the norms, a scenario's cost items, and the comparison's cost."""

from __future__ import annotations

import copy
import tomllib

import pytest

from geo.errors import ConfigurationError
from geo.norms import Norms
from geo.schema import SERVICE_TYPES
from tests.analysis_world import ROOT


def _raw() -> dict:
    return tomllib.loads((ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))


def test_the_shipped_cost_table_is_read_and_says_it_is_synthetic():
    text = (ROOT / "config" / "norms.toml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    costs = Norms.from_dict(_raw()).costs
    assert costs is not None and costs.synthetic is True
    assert costs.currency == "million rials"
    assert set(costs.services) == set(SERVICE_TYPES)
    rehab = costs.services["rehabilitation"]
    raw = _raw()["costs"]["services"]["rehabilitation"]
    assert rehab.new_centre_cost(40) == raw["new_centre"] + 40 * raw["per_place"]
    assert "synthetic" in costs.label("2026.1")


def test_a_norms_file_without_costs_prices_nothing():
    raw = _raw()
    del raw["costs"]
    assert Norms.from_dict(raw).costs is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["services"]["rehabilitation"].update(per_place=-1), "costs.services.rehabilitation.per_place"),
        (lambda c: c.update(outreach_per_km=-0.5), "costs.outreach_per_km"),
        (lambda c: c["services"].update(swimming={"new_centre": 1, "per_place": 1, "increase_per_place": 1}),
         "unknown ['swimming']"),
        (lambda c: c["services"].pop("kindergarten"), "missing ['kindergarten']"),
        (lambda c: c["services"]["counselling"].pop("new_centre"), "costs.services.counselling"),
        (lambda c: c.update(volunteer_group="cheap"), "costs.volunteer_group must be a number"),
        (lambda c: c.update(synthetic="yes"), "costs.synthetic"),
        (lambda c: c.pop("currency"), "currency"),
        (lambda c: c.update(per_trip=3), "unknown entries ['per_trip']"),
    ],
)  # fmt: skip
def test_a_wrong_cost_table_is_refused_by_name(change, message):
    raw = copy.deepcopy(_raw())
    change(raw["costs"])
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Norms.from_dict(raw)
