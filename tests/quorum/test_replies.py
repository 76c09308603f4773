"""The reply parser: what each reply means, and that no text can break it (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roster.quorum.replies import JOIN_WORDS, ParsedReply, ReplyKind, parse_reply

JOIN, DECLINE = ReplyKind.JOIN, ReplyKind.DECLINE


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("1", JOIN, None), ("JOIN", JOIN, None), ("j", JOIN, None), ("Y", JOIN, None), ("ok", JOIN, None),
        ("Yes!", JOIN, None), (" 1 7 ", JOIN, "7"), ("7 1", JOIN, "7"), ("join 7", JOIN, "7"), ("J7", JOIN, "7"),
        ("1, thanks", JOIN, None), ("2", DECLINE, None), ("NO", DECLINE, None), ("n", DECLINE, None),
        ("CANT", DECLINE, None), ("can't", DECLINE, None), ("Can\u2019t 12", DECLINE, "12"), ("no thanks", DECLINE, None),
        ("STOP", ReplyKind.OPT_OUT, None), ("Unsubscribe", ReplyKind.OPT_OUT, None), ("stop all", ReplyKind.OPT_OUT, None),
        ("START", ReplyKind.OPT_IN, None), ("unstop", ReplyKind.OPT_IN, None), ("HELP", ReplyKind.HELP, None),
        ("1 2", ReplyKind.UNKNOWN, None), ("01 07", JOIN, "7"), ("yes no", ReplyKind.UNKNOWN, None), ("not ok", ReplyKind.UNKNOWN, None),
        ("7", ReplyKind.UNKNOWN, None), ("1 7 8", ReplyKind.UNKNOWN, None), ("please stop calling", ReplyKind.UNKNOWN, None),
        ("", ReplyKind.UNKNOWN, None), ("on my way", ReplyKind.UNKNOWN, None),
    ],
)
def test_reply_meanings(text, kind, code):
    parsed = parse_reply(text)
    assert (parsed.kind, parsed.code) == (kind, code)


def test_yes_joins_and_also_opts_back_in():
    assert parse_reply("YES") == ParsedReply(JOIN, None, opts_in=True)
    assert not parse_reply("1").opts_in


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=50).map(lambda b: b.decode("latin-1")), st.none(),
                 st.integers(), st.text(alphabet="12 3jJoinNOyes,.!7\u2019'", max_size=12)))
def test_the_parser_never_raises_and_always_says_something(text):
    parsed = parse_reply(text)
    assert isinstance(parsed, ParsedReply) and parsed.kind in ReplyKind
    if parsed.code is not None:
        assert parsed.code.isdigit() and parsed.code not in JOIN_WORDS and parsed.is_answer


@given(st.sampled_from(["1", "join", "2", "no"]), st.integers(3, 99), st.sampled_from([" ", ",", "  ", ". "]))
def test_answer_and_code_in_either_order(word, code, separator):
    forward = parse_reply(f"{word}{separator}{code}")
    backward = parse_reply(f"{code}{separator}{word}")
    assert forward == backward and forward.code == str(code) and forward.is_answer
