"""Domain errors, one family. Each carries a message that is safe to show to a user.

Every error of Amayesh is an ``AmayeshError`` and belongs to one of four kinds, which decide how
it is answered (the HTTP status table is ``api.errors.STATUS``; the command line prints the
message and exits with status 1 or 2):

* ``InputError``: what a user asked or sent cannot be answered as given (400, or 422 for an
  import whose rows are refused);
* ``NotFoundError``: what a user asked for does not exist (404);
* ``ServerFault``: the service cannot answer, through no fault of the request: its store,
  norms file, reference data or front-end assets are missing or broken (503);
* ``SchemaError``: a frame does not conform to its layer's schema (422).

A ``StoreError`` that is ``AlreadyExists`` is a conflict with what is stored (409).
"""

from __future__ import annotations

from typing import Any


class AmayeshError(ValueError):
    """Base of every domain error.

    ``user_message`` is what a person sees (CLI, HTTP problem+json); ``str(err)`` may hold more
    detail for logs.
    """

    code = "amayesh-error"
    #: The message in Persian, where the error was raised with one (``BadPeriod``): the problem
    #: answer gives it beside the English (``detail_fa``) and a refusal page shows it.
    message_fa: str | None = None

    def __init__(self, user_message: str, *, detail: str | None = None, code: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        # A stable machine code for this case (problem+json ``code``), more precise than the
        # class's when one class covers several cases: the pages say each in their language.
        if code is not None:
            self.code = code

    def __reduce__(self):
        # Unpickled as it was, whatever arguments a subclass's ``__init__`` takes: an error raised
        # in a worker process (an export, an import reader) crosses back to the service whole;
        # before, ``ImportFileError`` failed to unpickle and broke the export workers' pool.
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls: type[AmayeshError], args: tuple, state: dict) -> AmayeshError:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


# ---- the four kinds ----------------------------------------------------------------------------


class InputError(AmayeshError):
    """A request or a file that cannot be answered or read as given."""

    code = "bad-input"


class NotFoundError(AmayeshError):
    """Something asked for by name or code that does not exist."""

    code = "not-found"


class ServerFault(AmayeshError):
    """The service cannot answer: its store, configuration or installed files are at fault."""

    code = "server-fault"


class SchemaError(AmayeshError):
    """A frame does not conform to its layer's schema (columns, types, values)."""

    code = "schema-error"


# ---- input -------------------------------------------------------------------------------------


class BadParameter(InputError):
    """A query or path parameter the service cannot use (bbox, weights, tile numbers, …)."""

    code = "bad-parameter"


class BadPeriod(BadParameter):
    """A Jalali period or series of periods that cannot be read or is too long (``geo.periods``),
    said in Persian as well (``message_fa``)."""

    code = "bad-period"

    def __init__(self, user_message: str, message_fa: str) -> None:
        super().__init__(user_message)
        self.message_fa = message_fa


class AnalysisInputError(InputError):
    """A request the analysis cannot answer as asked (unknown service type, bad weights, …)."""

    code = "analysis-input"


class BadBudget(AnalysisInputError):
    """A budget a plan cannot keep to or price (negative, below one new centre, no cost table).

    Carries the message in Persian as well (``message_fa``): the problem answer gives both.
    """

    def __init__(self, user_message: str, message_fa: str) -> None:
        super().__init__(user_message)
        self.message_fa = message_fa


class UnknownServiceError(AnalysisInputError):
    """A service type the catalogue (the norms' ``[services]``) does not have, named."""

    code = "unknown-service-type"

    def __init__(self, service_type: object, known: tuple[str, ...]) -> None:
        shown = str(service_type)[:60]
        super().__init__(
            f"unknown service type {shown!r}: the catalogue has {', '.join(known)}",
        )
        self.message_fa = f"نوع خدمت «{shown}» در فهرست خدمات نیست؛ فهرست: {'، '.join(known)}"
        self.service_type = service_type
        self.known = known


class NormsRejected(InputError):
    """A norms file (and its service catalogue) an administrator imported, refused with every
    reason (``reasons``); nothing was recorded."""

    code = "norms-rejected"

    def __init__(self, reasons: list[tuple[str, str]]) -> None:
        """``reasons``: each in English and Persian."""
        super().__init__("the norms were not imported: " + "; ".join(en for en, _ in reasons))
        self.reasons = [en for en, _ in reasons]
        self.reasons_fa = [fa for _, fa in reasons]
        self.message_fa = "هنجارها وارد نشد: " + "؛ ".join(self.reasons_fa)


class CRSMismatchError(InputError):
    code = "crs-mismatch"


class ImportFileError(InputError):
    """The file as a whole cannot be read (format, missing .prj, no such layer)."""

    code = "import-file"

    def __init__(self, user_message: str, reason: str) -> None:
        super().__init__(user_message)
        self.reason = reason


class ImportRejected(InputError):
    """Some rows were rejected; nothing was written. ``result.rejected`` lists them all.

    ``result`` is an ``exchange.validation.ValidationResult``.
    """

    code = "import-rejected"

    def __init__(self, result: Any) -> None:
        n = result.rejected["row"].nunique() if result.rejected["row"].notna().any() else 0
        whole = bool(result.rejected["row"].isna().any())
        if whole:
            first = result.rejected[result.rejected["row"].isna()].iloc[0]
            what = f"the file was refused ({first['reason']})"
        else:
            what = f"{n} of {result.rows} rows were rejected"
        super().__init__(f"Import of {result.layer} refused: {what}; nothing was written.")
        self.result = result


class HierarchyRejected(InputError):
    """A file of a new division version was refused; nothing was written. ``problems`` lists
    every problem (``geo.hierarchy.PROBLEM_COLUMNS``, with ``message_fa``)."""

    code = "hierarchy-rejected"

    def __init__(self, problems: Any, rows: int) -> None:
        whole = bool(problems["row"].isna().all())
        n = int(problems["row"].dropna().nunique())
        what = "the file was refused" if whole else f"{n} of {rows} rows were refused"
        super().__init__(f"the division version was not imported: {what}; nothing was written.")
        self.problems = problems
        self.rows = rows


# ---- not found ---------------------------------------------------------------------------------


class UnknownLayerError(NotFoundError):
    """No such layer, collection or tiled layer."""

    code = "unknown-layer"


class UnknownFeatureError(NotFoundError):
    """No feature with this id in a collection."""

    code = "unknown-feature"


class UnknownCentreError(NotFoundError):
    """No centre with this licence number among those the caller may see.

    Carries the message in Persian as well (``message_fa``): the problem answer gives both.
    """

    code = "unknown-centre"

    def __init__(self, user_message: str, message_fa: str) -> None:
        super().__init__(user_message)
        self.message_fa = message_fa


class UnknownSettlementError(NotFoundError):
    code = "unknown-settlement"


class UnknownProvinceError(NotFoundError):
    code = "unknown-province"


class ScenarioNotFound(NotFoundError):
    code = "scenario-not-found"


class UnknownUserError(NotFoundError):
    """No user of that name (administrators' account routes)."""

    code = "unknown-user"


# ---- server faults -----------------------------------------------------------------------------


class ApplicationNotFound(NotFoundError):
    """No licence application with that id (or none the caller may see)."""

    code = "application-not-found"


class ActivityNotFound(NotFoundError):
    """No programme activity with that id (or none the caller may see)."""

    code = "activity-not-found"


class ActivityRejected(InputError):
    """Activities that cannot be stored as given; nothing was written. ``problems`` lists every
    problem (``geo.activities.PROBLEM_COLUMNS``, with ``reason_fa``)."""

    code = "activity-rejected"

    def __init__(self, problems: Any, rows: int) -> None:
        first = problems.iloc[0]
        if rows == 1:
            message = f"the activity was not stored: {first['field']}: {first['reason']}"
            message_fa = f"فعالیت ثبت نشد: {first['reason_fa']}"
        else:
            n = int(problems["row"].nunique())
            message = f"{n} of {rows} rows were refused; nothing was written"
            message_fa = f"{n} ردیف از {rows} ردیف پذیرفته نشد؛ هیچ ردیفی ثبت نشد"
        super().__init__(message)
        self.message_fa = message_fa
        self.problems = problems
        self.rows = rows


class InvalidTransition(InputError):
    """A licence application cannot go from its status to the one asked (409)."""

    code = "invalid-transition"


class PreconditionRequired(InputError):
    """An edit of a licence application sent without ``If-Match`` (428)."""

    code = "precondition-required"


class PreconditionFailed(InputError):
    """An edit based on a stale version of a licence application (412): somebody changed it since."""

    code = "precondition-failed"


class StoreError(ServerFault):
    """The store is unreachable, lacks a layer the answer needs, or refused a write."""

    code = "store-error"


class NoSpace(StoreError):
    """The disk under the store has not the room a write needs; nothing was written."""

    code = "no-space"


class AlreadyExists(StoreError):
    """A write that would replace something with the same key (a scenario id, a licence number)."""

    code = "already-exists"


class ConfigurationError(ServerFault):
    """A setting or the norms file is missing or malformed."""

    code = "configuration"


class ReferenceDataError(ServerFault):
    code = "reference-data"


class AssetsMissing(ServerFault):
    """The map pages' front-end packages are not installed."""

    code = "assets-missing"


class Unauthenticated(AmayeshError):
    """No, invalid or expired credentials (401)."""

    code = "unauthenticated"


class SignInRequired(Unauthenticated):
    """A page asked for without a session: the answer redirects to the sign-in page."""

    code = "sign-in-required"


class Forbidden(AmayeshError):
    """Signed in, but the role or the provinces do not allow it (403)."""

    code = "forbidden"


class AccountError(InputError):
    """A user, password, role or token the account rules refuse."""

    code = "account-error"


class BackupError(ServerFault):
    """A backup or restore that could not be made or did not verify."""

    code = "backup-error"


#: Every concrete domain error, for the status table's test and the documentation.
__all__ = [
    "AccountError",
    "AlreadyExists",
    "AmayeshError",
    "AnalysisInputError",
    "ApplicationNotFound",
    "AssetsMissing",
    "BackupError",
    "BadParameter",
    "BadPeriod",
    "CRSMismatchError",
    "ConfigurationError",
    "Forbidden",
    "HierarchyRejected",
    "ImportFileError",
    "ImportRejected",
    "InputError",
    "InvalidTransition",
    "NormsRejected",
    "NotFoundError",
    "PreconditionFailed",
    "PreconditionRequired",
    "ReferenceDataError",
    "ScenarioNotFound",
    "SchemaError",
    "ServerFault",
    "SignInRequired",
    "StoreError",
    "Unauthenticated",
    "UnknownFeatureError",
    "UnknownLayerError",
    "UnknownProvinceError",
    "UnknownServiceError",
    "UnknownSettlementError",
    "UnknownUserError",
]


class ImportNotFound(NotFoundError):
    """No import of that id that the caller may see (never one, expired, or another user's)."""

    code = "import-not-found"


class ImportConflict(InputError):
    """An import cannot do this now: rows are rejected, the layer changed since the preview, it
    is not ready, or it was confirmed, cancelled or undone already."""

    code = "import-conflict"


class TooManyImports(InputError):
    """A user has too many imports open at once."""

    code = "too-many-imports"


class TooManyPlanJobs(InputError):
    """A person, or the service, has as many planning jobs queued or running as it takes."""

    code = "too-many-plan-jobs"


class PlanJobNotFound(NotFoundError):
    """No planning job of this id belongs to the person asking."""

    code = "plan-job-not-found"
