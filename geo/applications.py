"""Licence applications: their life (received → checked → decided) and the monitoring of licences.

An application asks for a licence of one service type and capacity at a proposed point. An
officer runs the licence check on it (``geo.licence``), which is stored with it, then records a
decision: *approved* (the licence joins the registry), *refused* or *withdrawn*. Each edit is
based on the version the officer saw; the store refuses an edit of a stale version.

``monitoring`` answers the questions of the licensing office's monthly report: which licences
expire in the next days, which expired ones are still marked active, and what share of the
applications received in each province and (Jalali) month were decided within the legal deadline.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd

from geo.errors import InvalidTransition
from geo.periods import jalali_year_month, tehran_day

#: status -> (Persian, English)
STATUSES: dict[str, tuple[str, str]] = {
    "received": ("دریافت‌شده", "received"),
    "checked": ("بررسی‌شده", "checked"),
    "approved": ("موافقت‌شده", "approved"),
    "refused": ("رد شده", "refused"),
    "withdrawn": ("انصراف", "withdrawn"),
}
DECISIONS = ("approved", "refused", "withdrawn")
OPEN = ("received", "checked")

#: The stored fields of an application, in order.
FIELDS = (
    "application_id",
    "applicant",
    "service_type",
    "capacity",
    "lon",
    "lat",
    "county_code",
    "province_code",
    "received_at",  # ISO 8601, UTC
    "decided_at",  # ISO 8601, UTC, or None
    "status",
    "check_verdict",  # welcome / acceptable / saturated, or None before a check
    "check_result",  # the licence check as stored (JSON object), or None
    "decision_reason",
    "decided_by",
    "created_by",
    "licence_no",  # the licence issued on approval
    "synthetic",  # made up by the demo, not a real application
    "version",  # raised by every edit: the ETag
)

#: Allowed moves: from status -> statuses it may go to. A check may be run again before a decision.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"checked", "refused", "withdrawn"}),
    "checked": frozenset({"checked", "approved", "refused", "withdrawn"}),
    "approved": frozenset(),
    "refused": frozenset(),
    "withdrawn": frozenset(),
}

#: Days within which an application must be decided (the report's "legal deadline"). The
#: organisation's regulation sets it; this default is a setting (``decision_deadline_days``).
DEFAULT_DEADLINE_DAYS = 30


def require_transition(current: str, target: str) -> None:
    """Refuse a move the life of an application does not allow (409)."""
    if target not in TRANSITIONS.get(current, frozenset()):
        if current in DECISIONS:
            raise InvalidTransition(
                f"the application was {current} already; a decision is final", code="decision-final"
            )
        if target == "approved":
            raise InvalidTransition(
                "run the licence check on the application before approving it", code="check-first"
            )
        raise InvalidTransition(f"an application that is {current} cannot become {target}")


def jalali_month(when: pd.Series) -> pd.Series:
    """``YYYY-MM`` of the Jalali calendar for UTC timestamps (Tehran's day)."""
    days = tehran_day(when)
    return days.map(lambda t: None if pd.isna(t) else "{:04d}-{:02d}".format(*jalali_year_month(t.date())))


def monitoring(
    ngos: gpd.GeoDataFrame,
    applications: pd.DataFrame,
    today: dt.date,
    *,
    within_days: int = 90,
    deadline_days: int = DEFAULT_DEADLINE_DAYS,
) -> dict[str, pd.DataFrame]:
    """The licensing office's report on ``today``.

    * ``expiring``: active licences whose expiry falls in the next ``within_days`` days
      (today included), soonest first, with the days left;
    * ``expired_active``: licences still marked active whose expiry has passed, longest overdue
      first, with the days overdue;
    * ``timeliness``: per province and Jalali month of receipt, the applications received,
      decided, decided within ``deadline_days`` days, still open past the deadline, and the share
      decided within the deadline among those whose deadline has passed or that were decided
      (an application still inside its deadline is not counted late).
    """
    if within_days < 0 or deadline_days < 1:
        raise ValueError("within_days must be ≥ 0 and deadline_days ≥ 1")
    cols = ["licence_no", "name_fa", "service_type", "capacity", "county_code", "province_code"]
    cols += ["expires_on", "synthetic"]
    frame = pd.DataFrame(ngos[[c for c in cols if c in ngos.columns]])
    days_left = (pd.to_datetime(frame["expires_on"]) - pd.Timestamp(today)).dt.days
    is_active = ngos["status"].eq("active").to_numpy()
    soon = is_active & days_left.between(0, within_days).to_numpy()
    late = is_active & (days_left < 0).to_numpy()
    expiring = frame.loc[soon].assign(days_left=days_left[soon].astype(int))
    expiring = expiring.sort_values(["days_left", "licence_no"], ignore_index=True)
    expired = frame.loc[late].assign(days_overdue=(-days_left[late]).astype(int))
    expired = expired.sort_values(["days_overdue", "licence_no"], ascending=[False, True], ignore_index=True)
    return {
        "expiring": expiring,
        "expired_active": expired,
        "timeliness": timeliness(applications, today, deadline_days=deadline_days),
    }


def decision_clock(applications: pd.DataFrame, deadline_days: int) -> pd.DataFrame:
    """Each application's ``received`` and ``decided`` moments (UTC; ``decided`` missing while
    open), its ``deadline`` (``deadline_days`` after receipt) and whether it was decided
    ``in_time`` (at the deadline at the latest), aligned with ``applications``."""
    received = pd.to_datetime(applications["received_at"], utc=True, format="ISO8601")
    decided = pd.to_datetime(applications["decided_at"], utc=True, format="ISO8601")
    deadline = received + pd.Timedelta(days=deadline_days)
    in_time = decided.notna() & (decided <= deadline)
    return pd.DataFrame(
        {"received": received, "decided": decided, "deadline": deadline, "in_time": in_time},
        index=applications.index,
    )


def timeliness(applications: pd.DataFrame, today: dt.date, *, deadline_days: int) -> pd.DataFrame:
    """Applications decided within the deadline, per province and Jalali month of receipt."""
    columns = [
        "province_code",
        "jalali_month",
        "received",
        "decided",
        "decided_in_time",
        "open_overdue",
        "share_in_time",
        "synthetic",
    ]
    if applications.empty:
        return pd.DataFrame(columns=columns)
    apps = pd.DataFrame(applications)
    clock = decision_clock(apps, deadline_days)
    received, decided, deadline = clock["received"], clock["decided"], clock["deadline"]
    now = pd.Timestamp(today, tz="UTC") + pd.Timedelta(days=1)  # the end of today
    is_decided = decided.notna()
    in_time = clock["in_time"]
    overdue_open = ~is_decided & (deadline < now)
    table = pd.DataFrame(
        {
            "province_code": apps["province_code"].astype(str),
            "jalali_month": jalali_month(received),
            "received": 1,
            "decided": is_decided.astype(int),
            "decided_in_time": in_time.astype(int),
            "open_overdue": overdue_open.astype(int),
            "judged": (is_decided | overdue_open).astype(int),
            "synthetic": apps["synthetic"].astype(bool),
        }
    )
    out = table.groupby(["province_code", "jalali_month"], as_index=False).agg(
        received=("received", "sum"),
        decided=("decided", "sum"),
        decided_in_time=("decided_in_time", "sum"),
        open_overdue=("open_overdue", "sum"),
        judged=("judged", "sum"),
        synthetic=("synthetic", "any"),
    )
    judged = out.pop("judged")
    out["share_in_time"] = (out["decided_in_time"] / judged.where(judged > 0)).round(4)
    return out[columns].sort_values(["province_code", "jalali_month"], ignore_index=True)
