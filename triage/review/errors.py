"""The ways review's rules refuse a request, by name. Each subclasses a ``triage.errors`` class,
so the one error handler maps it to its HTTP status; messages are safe to show (no personal data).
"""

from __future__ import annotations

from ..errors import N_, Conflict, Forbidden, InvalidInput, NotFound


class CaseNotFound(NotFound):
    """No such case, or one outside the user's region scope: the two look alike on purpose, so
    that a reviewer cannot learn that a case exists in another region."""

    title = N_("No such case")

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or N_("There is no such case in your scope."), **params)


class DecisionNotFound(NotFound):
    title = N_("No such decision")


class AssessmentNotFound(NotFound):
    title = N_("No such assessment")


class CaseClosed(Conflict):
    title = N_("The case is closed")


class StaleEdit(Conflict):
    """The form was filled in against an older version of the case or decision."""

    title = N_("Someone else changed this case")

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(
            message
            or N_("Someone else changed this case; reload the page and check before saving."),
            **params,
        )


class ClaimConflict(Conflict):
    """Another reviewer holds an unexpired claim on the case."""

    title = N_("The case is held by someone else")


class ClaimRequired(Conflict):
    """Working on a case needs an unexpired claim on it."""

    title = N_("Claim the case first")


class UnverifiedCase(Conflict):
    """A preventive or coercive measure on a case that is not corroborated."""

    title = N_("The case is not verified")


class AlreadyVerified(Conflict):
    title = N_("The case is already verified")


class NotAwaitingApproval(Conflict):
    title = N_("Nothing waits for approval here")


class PendingDecisions(Conflict):
    title = N_("Proposals are waiting for approval")


class SelfApprovalRefused(Forbidden):
    """Four eyes: nobody approves their own proposal or their own lowering of a level."""

    title = N_("You cannot approve your own proposal")


class ApproverNotSupervisor(Forbidden):
    title = N_("Only a supervisor may approve")


class NotYourProposal(Forbidden):
    title = N_("Only the proposer may withdraw a proposal")


class InvalidAssessment(InvalidInput):
    title = N_("The assessment is not valid")


class InvalidDecision(InvalidInput):
    title = N_("The decision is not valid")


class ReasonRequired(InvalidInput):
    """A decision, override, finding or rejection that must be explained in writing was not."""

    title = N_("A written reason is needed")


class InvalidReassignment(InvalidInput):
    title = N_("The case cannot be given to that user")


class ReportNotFound(NotFound):
    """No such report on this case (or not in the user's scope)."""

    title = N_("No such report")

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or N_("There is no such report on this case."), **params)


class LastReportWorkedOn(Conflict):
    """Moving a case's last report away would merge away a case with recorded work on it."""

    title = N_("The case has recorded work")


class ConsentRequired(Conflict):
    """Sharing the victim's data with a recipient needs her recorded yes."""

    title = N_("Her consent is needed")
