"""Licence status at a stated date.

A registry records each licence's status when it was drawn up; the dates say what the status is
on any other day. ``status_at`` reads the dates: a licence counts as active on ``as_of`` only if
it was issued on or before that day and expires after it. Suspensions and pending applications
are decisions the dates cannot overturn, so they stay, except that a suspended licence past its
expiry is expired.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def status_at(ngos: pd.DataFrame, as_of: dt.date, fixed: bool = False) -> pd.Series:
    """The licence status of each NGO on ``as_of``, aligned with ``ngos.index``.

    ``ngos`` has ``status``, ``issued_on`` and ``expires_on`` (dates may be missing: a licence
    without dates keeps its recorded status).

    - issued after ``as_of``: ``pending`` (not yet licensed on that day);
    - expiry on or before ``as_of``: ``expired``;
    - issued on or before ``as_of`` and expiring after it: ``active``, unless the registry records
      it ``suspended`` or ``pending``.

    With a ``fixed`` day (a registry read at a stated day, such as the demo's, rather than
    today), a licence issued after that day is a decision recorded since: it keeps its recorded
    status (an approval made today stays active, not "pending") instead of being read as not
    yet issued.
    """
    day = pd.Timestamp(as_of)
    status = ngos["status"].astype("object").to_numpy(copy=True)
    issued = pd.to_datetime(ngos["issued_on"]).to_numpy()
    expires = pd.to_datetime(ngos["expires_on"]).to_numpy()
    has_dates = ~pd.isna(issued) & ~pd.isna(expires)
    not_yet = has_dates & (issued > day.to_datetime64())
    over = has_dates & ~not_yet & (expires <= day.to_datetime64())
    running = has_dates & ~not_yet & ~over
    decided = np.isin(status, ["suspended", "pending"])
    out = status.copy()
    out[running & ~decided] = "active"
    out[over] = "expired"
    out[not_yet & ~(fixed & np.isin(status, ["active", "suspended"]))] = "pending"
    return pd.Series(out, index=ngos.index, name="status", dtype="object")
