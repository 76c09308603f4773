"""Every text a quorum sends: short (one 160-character GSM-7 segment when possible).

Texts name the requester's first name and the case *reference* only: never a
client's name, never the coordinator's reason.
"""

from __future__ import annotations

SEGMENT = 160
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def fits_one_segment(text: str) -> bool:
    """True when ``text`` is plain GSM-7 and at most 160 characters (one SMS segment)."""
    return len(text) <= SEGMENT and set(text) <= GSM7_BASIC


def _about(case_reference: str | None) -> str:
    return f" (case {case_reference})" if case_reference else ""


def _names(first_names: list[str]) -> str:
    if not first_names:
        return ""
    if len(first_names) == 1:
        return first_names[0]
    return ", ".join(first_names[:-1]) + " and " + first_names[-1]


def invitation_sms(requester: str, case_reference: str | None, code: str, *, several_open: bool) -> str:
    """The invitation. With several open invitations the code goes into the reply words."""
    answer = f"Reply 1 {code} to join or 2 {code} if you can't." if several_open else (
        f"Reply 1 to join or 2 if you can't. Code {code}."
    )
    return f"Dive Boat: {requester} needs a reflective quorum now{_about(case_reference)}. {answer}"


def _spoken(reference: str) -> str:
    """A case reference read out character by character ("C-1042" -> "C 1 0 4 2")."""
    return " ".join(ch for ch in reference if ch.isalnum())


def voice_script(requester: str, case_reference: str | None) -> str:
    """What a voice call says before asking for a keypress (notify adds the Gather)."""
    case = f", for case {_spoken(case_reference)}" if case_reference else ""
    return f"This is Dive Boat. {requester} needs a reflective quorum now{case}. Press 1 to join, or 2 if you can't."


def formed_sms(requester: str, case_reference: str | None, others: list[str], conference_number: str | None) -> str:
    """Confirmation for a joiner, naming the other joiners."""
    with_whom = f" with {_names(others)}" if others else ""
    dial = f" Conference: {conference_number}." if conference_number else f" {requester} will be in touch."
    return f"Dive Boat: you're in. Quorum formed for {requester}{_about(case_reference)}{with_whom}.{dial}"


def formed_for_requester_sms(case_reference: str | None, joiners: list[str], conference_number: str | None) -> str:
    """Tells the worker who asked that their quorum is formed."""
    dial = f" Conference: {conference_number}." if conference_number else ""
    return f"Dive Boat: your quorum is formed{_about(case_reference)}: {_names(joiners)}.{dial}"


def stand_down_sms(requester: str, case_reference: str | None) -> str:
    return f"Dive Boat: thanks, the quorum for {requester}{_about(case_reference)} is formed, no need to reply."


def already_formed_sms(requester: str) -> str:
    return f"Dive Boat: already formed, thanks. {requester}'s quorum has enough people."


def closed_sms(requester: str, case_reference: str | None, *, cancelled: bool) -> str:
    """For replies to, or people waiting on, a request that ended without forming."""
    what = "was cancelled" if cancelled else "was not formed in time"
    return f"Dive Boat: {requester}'s quorum request{_about(case_reference)} {what}. Thanks, no need to reply."


def help_sms(requester: str, case_reference: str | None, code: str) -> str:
    return (
        f"Dive Boat: sorry, we didn't understand. For {requester}'s quorum{_about(case_reference)} "
        f"reply 1 {code} to join or 2 {code} if you can't."
    )


def conference_greeting(requester: str, case_reference: str | None) -> str:
    """Spoken when a conference call is answered, before joining the room."""
    case = f", case {_spoken(case_reference)}" if case_reference else ""
    return f"Dive Boat. Joining you to {requester}'s reflective quorum{case}."
