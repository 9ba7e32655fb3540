"""The complaint workflow as plain rules (no Django): the steps, what each step needs
before a complaint may enter it, and which moves are allowed.

registered -> investigating -> cause eliminated -> process fixed -> closed; a closed (or
process-fixed) complaint may be reopened, back to investigating, with a reason.
"""

from dataclasses import dataclass
from datetime import date

REGISTERED = "registered"
INVESTIGATING = "investigating"
CAUSE_ELIMINATED = "cause_eliminated"
PROCESS_FIXED = "process_fixed"
CLOSED = "closed"

STEPS = [REGISTERED, INVESTIGATING, CAUSE_ELIMINATED, PROCESS_FIXED, CLOSED]
OPEN_STEPS = STEPS[:-1]
# Steps from which a reopening goes back to investigating.
REOPENABLE = {PROCESS_FIXED, CLOSED}


@dataclass(frozen=True)
class Facts:
    """What the complaint holds when a move is asked for."""

    cause: str = ""
    cause_category_id: int | None = None
    action: str = ""
    process_change: str = ""
    efficacy_check_date: date | None = None
    efficacy_result: str = ""
    efficacy_ok: bool | None = None


def next_step(step: str) -> str | None:
    """The step after `step`, or None for a closed complaint."""
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


# Why a field stops a move (complaints.services words each one for people).
REQUIRED = "required"
NOT_YET_DUE = "not_yet_due"
NOT_CONFIRMED = "not_confirmed"


def missing_to_enter(step: str, facts: Facts, *, today: date) -> dict[str, str]:
    """Field -> why (REQUIRED, NOT_YET_DUE, NOT_CONFIRMED), for each thing `step` needs
    before a complaint may enter it. Empty: the move is allowed."""
    missing: dict[str, str] = {}
    if step == CAUSE_ELIMINATED:
        # The investigation's outcome: the cause, its category, and what was done about it.
        if not facts.cause.strip():
            missing["cause"] = REQUIRED
        if facts.cause_category_id is None:
            missing["cause_category"] = REQUIRED
        if not facts.action.strip():
            missing["action"] = REQUIRED
    elif step == PROCESS_FIXED:
        if not facts.process_change.strip():
            missing["process_change"] = REQUIRED
        if facts.efficacy_check_date is None:
            missing["efficacy_check_date"] = REQUIRED
    elif step == CLOSED:
        # Closing is the efficacy check itself: done, on or after its date, and it worked.
        if facts.efficacy_check_date is None:
            missing["efficacy_check_date"] = REQUIRED
        elif facts.efficacy_check_date > today:
            missing["efficacy_check_date"] = NOT_YET_DUE
        if not facts.efficacy_result.strip():
            missing["efficacy_result"] = REQUIRED
        if facts.efficacy_ok is not True:
            missing["efficacy_ok"] = NOT_CONFIRMED
    return missing


def can_reopen(step: str) -> bool:
    return step in REOPENABLE
