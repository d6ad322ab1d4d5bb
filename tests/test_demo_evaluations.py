"""The demo's synthetic evaluations: deterministic, drawn to the grade shares exactly per
province, labelled synthetic, and valid for the store."""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.synthetic import AS_OF, EVALUATED_SHARE, GRADE_SHARES, generate_evaluations
from store.base import validate_frame


def _ngos() -> pd.DataFrame:
    n = 45
    return pd.DataFrame(
        {
            "licence_no": [
                f"SYN-{p}-{i:05d}" for p, i in zip(["01"] * 20 + ["02"] * 25, range(n), strict=True)
            ],
            "province_code": ["01"] * 20 + ["02"] * 25,
            # the last 5 of province 02 were licensed in 2024 (1403): not evaluated yet
            "issued_on": pd.to_datetime(["2019-05-01"] * 40 + ["2024-06-01"] * 5),
        }
    )


def test_the_demo_evaluations_are_drawn_to_the_shares_and_labelled_synthetic():
    ngos = _ngos()
    ev = generate_evaluations(ngos, seed=7)
    pd.testing.assert_frame_equal(ev, generate_evaluations(ngos, seed=7))  # deterministic
    assert not ev.equals(generate_evaluations(ngos, seed=8))
    latest = ev.sort_values("evaluated_on").drop_duplicates("licence_no", keep="last")
    # 0.8 of 20 = 16 centres in 01; 0.8 of the 20 working centres of 02 = 16
    assert latest.groupby("province_code").size().to_dict() == {"01": 16, "02": 16}
    assert EVALUATED_SHARE == 0.8
    # 16 × (0.25, 0.40, 0.25, 0.10) = 4, 6.4, 4, 1.6 → largest remainder 4, 6, 4, 2
    for _, part in latest.groupby("province_code"):
        assert part["grade"].value_counts().reindex(list(GRADE_SHARES), fill_value=0).tolist() == [4, 6, 4, 2]
    assert not set(ev["licence_no"]) & {f"SYN-02-{i:05d}" for i in range(40, 45)}
    assert ev["synthetic"].all() and ev["evaluator"].str.contains("synthetic").all()
    assert (ev["evaluated_on"] < AS_OF).all()
    assert ev.groupby("licence_no").size().max() == 2  # some centres have a history
    assert (ev.groupby("licence_no").size() == 2).sum() > 0
    assert np.array_equal(
        ev["province_code"].to_numpy(),
        ev["licence_no"].map(ngos.set_index("licence_no")["province_code"]).to_numpy(),
    )
    validate_frame("ngo_evaluations", ev)  # fits the layer's schema and key
