"""Reading a worker's SMS reply: pure, total (never raises), fuzzed by hypothesis.

Replies ``1``, ``JOIN``, ``J``, ``Y``, ``OK``, ``YES`` join; ``2``, ``NO``, ``N``,
``CANT`` decline. A short per-person code picks one of several open invitations:
``1 7``, ``7 1`` and ``join 7`` all mean "join the request with code 7". ``STOP``
and Twilio's other opt-out words opt out; ``START`` opts back in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_LENGTH = 1600
JOIN_WORDS = frozenset({"1", "join", "j", "y", "yes", "ok", "okay"})
DECLINE_WORDS = frozenset({"2", "no", "n", "cant", "cannot"})
FILLER_WORDS = frozenset({"code", "thanks", "thank", "you", "thx", "ta", "please", "pls"})
#: Twilio's default opt-out and opt-in keywords (matched on the whole message).
OPT_OUT_WORDS = frozenset({"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"})
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
_TOKEN = re.compile(r"[a-z]+|[0-9]+")


class ReplyKind(StrEnum):
    JOIN = "join"
    DECLINE = "decline"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ParsedReply:
    """What a reply means: its kind, the invitation code it names (if any)."""

    kind: ReplyKind
    code: str | None = None
    opts_in: bool = False

    @property
    def is_answer(self) -> bool:
        return self.kind in (ReplyKind.JOIN, ReplyKind.DECLINE)


UNKNOWN = ParsedReply(ReplyKind.UNKNOWN)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)[:MAX_LENGTH]).casefold()
    text = re.sub(r"['\u2019\u2018`]", "", text)  # can't -> cant
    return " ".join(text.split())


def parse_reply(text: object) -> ParsedReply:
    """Parse an SMS body; anything not clearly an answer is ``UNKNOWN`` (never raises)."""
    try:
        return _parse(_normalise(text if isinstance(text, str) else ("" if text is None else str(text))))
    except Exception:  # defensive: a reply must never break the handler
        return UNKNOWN


def _parse(text: str) -> ParsedReply:
    bare = re.sub(r"[^a-z0-9 ]", "", text).strip()
    if bare in OPT_OUT_WORDS:
        return ParsedReply(ReplyKind.OPT_OUT)
    if bare in OPT_IN_WORDS:
        return ParsedReply(ReplyKind.OPT_IN)
    if bare in HELP_WORDS:
        return ParsedReply(ReplyKind.HELP)
    tokens = _TOKEN.findall(text)
    kinds: set[ReplyKind] = set()
    codes: list[str] = []
    for token in tokens:
        if token.isdigit() and len(token) <= 6:
            token = str(int(token))  # "01" is "1"
        if token in JOIN_WORDS:
            kinds.add(ReplyKind.JOIN)
        elif token in DECLINE_WORDS:
            kinds.add(ReplyKind.DECLINE)
        elif token.isdigit():
            codes.append(token)
        elif token not in FILLER_WORDS:
            return UNKNOWN
    if len(kinds) != 1 or len(codes) > 1:
        return UNKNOWN
    kind = kinds.pop()
    return ParsedReply(kind, codes[0] if codes else None, opts_in=kind is ReplyKind.JOIN and "yes" in tokens)
