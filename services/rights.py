"""Roles and rights: what each right means and which roles hold it.

Both doors ask here: the HTTP policy (``api/security.py``) states every route's right, and the
views of ``services/scope.py`` give the exact positions only to the roles that hold
``exact_location``.
"""

from __future__ import annotations

from store.accounts import User

#: What each right means, and the roles that hold it.
RIGHTS: dict[str, tuple[str, ...]] = {
    "read": ("admin", "planner", "licensing_officer", "provincial_director"),
    "export": ("admin", "planner", "provincial_director"),
    "priorities": ("admin", "planner", "provincial_director"),
    "licence_check": ("admin", "planner", "licensing_officer"),
    "licence_decide": ("admin", "licensing_officer"),
    "exact_location": ("admin", "planner", "licensing_officer"),
    # siting, delegation and saved scenarios work on the whole country: national roles only
    "plan": ("admin", "planner"),
    # imports through the browser: admins every layer, officers NGO rows of their provinces
    # (services.intake checks the layer and the rows' provinces)
    "import": ("admin", "licensing_officer"),
    # evaluations of centres: a centre's history and the rankings by rating, of the caller's
    # provinces (scoped roles see their provinces' centres only); imported under "import"
    "evaluations": ("admin", "planner", "licensing_officer", "provincial_director"),
    # the programme's activities register: the programme's managers (planners, national) and
    # administrators enter activities anywhere, licensing officers in their provinces (as they
    # enter licence applications); directors read the register and the progress (the "read" right)
    "activities_enter": ("admin", "planner", "licensing_officer"),
    # the volunteer network: groups and volunteers per county, of the caller's provinces (a
    # group's place generalised without exact_location); imported under "import"
    "volunteers": ("admin", "planner", "licensing_officer", "provincial_director"),
    "admin": ("admin",),
}


def has_right(user: User | None, right: str) -> bool:
    return user is not None and user.role in RIGHTS[right]
