"""Public figures that no single care centre can be read off (small-cell suppression).

The public needs map gives, per county and province and service type, the target population,
the centres' capacity, their number and the ratio to the norm. Where a county has one or two
centres of a service, its capacity is (nearly) a centre's own figure, so the rule is:

1. **Primary suppression**: a cell with fewer than ``MIN_CENTRES`` (3) centres, but at least one,
   shows neither its capacity, nor its ratio to the norm (which gives the capacity back through
   the target population), nor its exact number of centres; it keeps its class (underserved,
   balanced, saturated: a band around the norm) and its target population. A cell with no centre
   has nothing to hide and shows its zeros.
2. **Complementary suppression**: a province's total minus the counties it shows is what its
   suppressed counties hold together. Where that remainder holds fewer than ``MIN_CENTRES``
   centres, the shown county of the province with the smallest capacity among those with at
   least ``MIN_CENTRES`` centres is suppressed too, so the difference covers at least
   ``MIN_CENTRES`` + 1 centres. Where no such county exists the province's own total has fewer
   than ``MIN_CENTRES`` centres and rule 1 suppresses it.

Pure functions on frames; the public route (``api/routers/public.py``) serves what they return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.measures import classify
from geo.norms import Norms

#: The fewest centres a published capacity may rest on.
MIN_CENTRES = 3

#: ``suppressed``: 0 shown, 1 fewer than MIN_CENTRES centres, 2 hidden so that 1 cannot be
#: recovered by differencing.
SHOWN, FEW_CENTRES, COMPLEMENT = 0, 1, 2

HIDDEN = ("capacity", "ngos", "ratio_to_norm")


def public_cells(
    saturation: pd.DataFrame, norms: Norms, min_centres: int = MIN_CENTRES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """County and province figures for the public, suppressed as the module says.

    ``saturation`` is the analysis' table indexed by (county_code, service_type) with
    ``target_population``, ``ngos``, ``capacity``, ``ratio_to_norm`` and ``class``; the province
    is the county code's first two digits. Returns ``(counties, provinces)``: flat frames with
    ``county_code`` (counties only), ``province_code``, ``service_type``, ``target_population``,
    ``capacity``, ``ngos``, ``ratio_to_norm`` (NaN where suppressed), ``class`` and
    ``suppressed`` (``SHOWN``, ``FEW_CENTRES`` or ``COMPLEMENT``).
    """
    c = saturation.reset_index()[
        ["county_code", "service_type", "target_population", "ngos", "capacity", "ratio_to_norm", "class"]
    ].copy()
    c.insert(1, "province_code", c["county_code"].str[:2])
    few = (c["ngos"] > 0) & (c["ngos"] < min_centres)
    c["suppressed"] = np.where(few, FEW_CENTRES, SHOWN)

    # Complementary cells: per province and service, the centres the suppressed counties hold.
    hidden_centres = c["ngos"].where(few, 0).groupby([c["province_code"], c["service_type"]]).transform("sum")
    needs_complement = (hidden_centres > 0) & (hidden_centres < min_centres)
    candidates = c[needs_complement & (c["suppressed"] == SHOWN) & (c["ngos"] >= min_centres)]
    if len(candidates):
        pick = candidates.sort_values(["capacity", "county_code"], kind="mergesort").groupby(
            ["province_code", "service_type"], sort=False
        )
        c.loc[pick.head(1).index, "suppressed"] = COMPLEMENT

    # Provinces: true totals, then rule 1 on them.
    p = c.groupby(["province_code", "service_type"], as_index=False)[
        ["target_population", "ngos", "capacity"]
    ].sum()
    norm = p["service_type"].map({k: v.norm_per_10k for k, v in norms.services.items()})
    target = p["target_population"].astype("float64")
    p["ratio_to_norm"] = p["capacity"] / target.where(target > 0) * 1e4 / norm
    p["class"] = classify(p["ratio_to_norm"], norms).where(p["ratio_to_norm"].notna(), None)
    p_few = (p["ngos"] > 0) & (p["ngos"] < min_centres)
    p["suppressed"] = np.where(p_few, FEW_CENTRES, SHOWN)

    for frame in (c, p):
        hide = frame["suppressed"] != SHOWN
        frame[["capacity", "ngos"]] = frame[["capacity", "ngos"]].astype("float64")
        frame.loc[hide, list(HIDDEN)] = np.nan
        frame["class"] = frame["class"].where(frame["target_population"] > 0, None)
    return c, p


def remainder_centres(counties: pd.DataFrame, true_ngos: pd.Series) -> pd.Series:
    """Per province and service: the centres behind "province total − shown counties" (what a
    differencing attack isolates), from the counties' true number of centres ``true_ngos``
    (aligned with ``counties``)."""
    hidden = true_ngos.where(counties["suppressed"] != SHOWN, 0)
    return hidden.groupby([counties["province_code"], counties["service_type"]]).sum()


__all__ = ["COMPLEMENT", "FEW_CENTRES", "MIN_CENTRES", "SHOWN", "public_cells", "remainder_centres"]
