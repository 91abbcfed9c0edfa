"""The compiled matcher: keywords, regular expressions, detectors, links, posting hours and scope."""

import datetime

import pytest
import re2

from common.folding import fold, fold_with_offsets
from policies.detectors import PatternError, pattern_compile
from policies.engine import Engine, RuleError, RuleSpec, excerpt_for, regex_compile, url_host

NOON = datetime.datetime(2026, 11, 20, 17, 0, tzinfo=datetime.UTC)  # 12:00 in Toronto
NORTH = "00010001"
NORTH_11 = "000100010001"
SOUTH_51 = "000100020001"


def keywords(rule_id=1, terms=(), exceptions=(), **scope):
    return RuleSpec(rule_id, "keywords", {"terms": list(terms), "exceptions": list(exceptions)}, **scope)


def hits(engine, text, *, platform="x", direction="outbound", unit_path=NORTH_11, created_at=None):
    return {
        hit.rule_id: [text[start:end] for start, end in hit.spans]
        for hit in engine.evaluate(
            text, platform=platform, direction=direction, unit_path=unit_path, created_at=created_at
        )
    }


# --- keywords ----------------------------------------------------------------------------------------------


def test_keywords_ignore_case_and_accents():
    engine = Engine([keywords(terms=["cafe", "école"])])
    assert hits(engine, "Un Café à l'ECOLE") == {1: ["Café", "ECOLE"]}
    assert hits(engine, "CAFÉ") == {1: ["CAFÉ"]}
    assert fold("Où ÇA") == "ou ca"


def test_keywords_match_whole_words_only():
    engine = Engine([keywords(terms=["gun"])])
    assert hits(engine, "It has begun; gunfire; shotgun") == {}
    assert hits(engine, "a gun. (gun) gun!") == {1: ["gun", "gun", "gun"]}


def test_phrases_match_across_case_and_report_spans_in_the_original_text():
    engine = Engine([keywords(terms=["search warrant", "firearm"])])
    text = "Élan: the SEARCH   Warrant… then a search\nwarrant and a ﬁrearm"
    # Whitespace runs read as one space; the ligature "ﬁ" folds to "fi".
    assert hits(engine, text) == {1: ["SEARCH   Warrant", "search\nwarrant", "ﬁrearm"]}
    assert hits(engine, "the search  warrant") == {1: ["search  warrant"]}


def test_exceptions_excuse_hits_inside_them_only():
    engine = Engine([keywords(terms=["gun", "search warrant"], exceptions=["glue gun", "executed a search warrant"])])
    assert hits(engine, "Bring a glue gun") == {}
    assert hits(engine, "Officers executed a search warrant today") == {}
    assert hits(engine, "A glue gun and a real gun") == {1: ["gun"]}


def test_exceptions_belong_to_their_rule():
    engine = Engine([keywords(1, ["gun"], ["glue gun"]), keywords(2, ["gun"])])
    assert hits(engine, "a glue gun") == {2: ["gun"]}


def test_terms_with_edges_that_are_not_word_characters():
    engine = Engine([keywords(terms=["#ad", "c++"])])
    assert hits(engine, "Great deal #ad") == {1: ["#ad"]}
    assert hits(engine, "#adventure and c++11") == {1: ["c++"]}


def test_thousands_of_terms_in_one_automaton():
    terms = [f"term{number:05d}" for number in range(5_000)]
    engine = Engine([keywords(rule_id, terms[rule_id::50]) for rule_id in range(50)])
    assert hits(engine, "nothing here, term00007 and term04999 and term0000") == {7: ["term00007"], 49: ["term04999"]}


# --- regular expressions -----------------------------------------------------------------------------------


def test_regex_rules_report_their_spans():
    engine = Engine([RuleSpec(1, "regex", {"pattern": r"(?i)\bpromo\s+code\b"})])
    assert hits(engine, "Use PROMO  code X, promo code Y") == {1: ["PROMO  code", "promo code"]}
    assert hits(engine, "promotional codes") == {}


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(\w+) \1", "Backreferences (\\1) are not supported."),
        (r"(?<=\$)\d+", "Look-ahead and look-behind assertions are not supported."),
        (r"\d+(?= dollars)", "Look-ahead and look-behind assertions are not supported."),
        (r"(unclosed", "missing ): (unclosed"),
    ],
)
def test_patterns_re2_cannot_compile_are_refused_with_the_reason(pattern, reason):
    with pytest.raises(RuleError) as refused:
        regex_compile(pattern)
    message = str(refused.value)
    assert message.startswith("pattern: The linear-time regex engine (RE2) cannot compile this pattern: ")
    assert reason in message


def test_patterns_matching_empty_text_are_refused():
    with pytest.raises(RuleError, match="matches empty text"):
        regex_compile(r"x*")


def test_catastrophic_backtracking_pattern_runs_on_re2():
    compiled = regex_compile(r"(a+)+$")
    assert isinstance(compiled, re2._Regexp)  # RE2: linear time, whatever the pattern
    engine = Engine([RuleSpec(1, "regex", {"pattern": r"(a+)+$"})])
    assert hits(engine, "a" * 10_000 + "!") == {}
    assert hits(engine, "a" * 10_000) == {1: ["a" * 10_000]}


def test_pattern_compile_raises_pattern_error():
    with pytest.raises(PatternError):
        pattern_compile(r"(?P<x>a)(?P=x)")


def test_a_broken_stored_rule_is_skipped_not_fatal():
    engine = Engine([RuleSpec(1, "regex", {"pattern": r"(a)\1"}), keywords(2, ["gun"])])
    assert set(engine.skipped) == {1}
    assert hits(engine, "gun") == {2: ["gun"]}


# --- detectors, links, posting hours -----------------------------------------------------------------------


def test_detectors_share_one_pass_and_report_spans():
    engine = Engine(
        [
            RuleSpec(1, "detector", {"detector": "phone_number"}),
            RuleSpec(2, "detector", {"detector": "email"}),
            RuleSpec(3, "detector", {"detector": "case_number", "pattern": r"MPS-\d{4}-\d{6}"}),
            RuleSpec(4, "detector", {"detector": "date_of_birth"}),
        ]
    )
    text = "Re MPS-2024-000123: call Dana at 416-555-0199 or dana@gmail.com (DOB 1990-04-12)"
    assert hits(engine, text) == {
        1: ["416-555-0199"],
        2: ["dana@gmail.com"],
        3: ["MPS-2024-000123"],
        4: ["DOB 1990-04-12"],
    }
    assert hits(engine, "Nothing personal here") == {}


def test_links_outside_the_allowed_domains():
    engine = Engine([RuleSpec(1, "link_domains", {"allowed": ["police.example", "city.example"]})])
    text = (
        "See https://police.example/news, http://www.city.example/x?y=1, https://news.police.example, "
        "www.shop.example/deal, https://police.example.evil.example/ and https://police.example@evil.example/a."
    )
    assert hits(engine, text) == {
        1: ["www.shop.example/deal,", "https://police.example.evil.example/", "https://police.example@evil.example/a."]
    }
    assert hits(engine, "No links, just police.example mentioned") == {}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Police.Example:8443/path", "police.example"),
        ("www.city.example/x", "www.city.example"),
        ("https://user:pw@evil.example/", "evil.example"),
        ("http://police.example.", "police.example"),
    ],
)
def test_url_host(url, host):
    assert url_host(url) == host


def test_posting_hours_flag_outbound_posts_outside_the_window():
    engine = Engine([RuleSpec(1, "posting_hours", {"start": "07:00", "end": "22:00", "timezone": "America/Toronto"})])
    late = datetime.datetime(2026, 11, 21, 4, 30, tzinfo=datetime.UTC)  # 23:30 in Toronto
    assert hits(engine, "Good night", created_at=late) == {1: []}
    assert hits(engine, "Good morning", created_at=NOON) == {}
    assert hits(engine, "Good night", created_at=late, direction="inbound") == {}
    seven = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)  # 07:00 sharp: inside [start, end)
    assert hits(engine, "Morning", created_at=seven) == {}


def test_posting_hours_window_across_midnight():
    engine = Engine([RuleSpec(1, "posting_hours", {"start": "22:00", "end": "06:00", "timezone": "America/Toronto"})])
    assert hits(engine, "Night shift", created_at=datetime.datetime(2026, 11, 21, 4, 0, tzinfo=datetime.UTC)) == {}
    assert hits(engine, "Midday", created_at=NOON) == {1: []}


# --- scope -------------------------------------------------------------------------------------------------


def test_a_rule_for_one_subtree_never_flags_another():
    engine = Engine([keywords(1, ["gun"], unit_path=NORTH), keywords(2, ["gun"], unit_path=SOUTH_51)])
    assert hits(engine, "gun", unit_path=NORTH_11) == {1: ["gun"]}
    assert hits(engine, "gun", unit_path=NORTH) == {1: ["gun"]}
    assert hits(engine, "gun", unit_path=SOUTH_51) == {2: ["gun"]}
    assert hits(engine, "gun", unit_path="0001") == {}  # the root is above both subtrees


def test_platform_and_direction_scopes():
    engine = Engine(
        [
            keywords(1, ["gun"], platforms=("facebook",)),
            keywords(2, ["gun"], direction="inbound"),
            keywords(3, ["gun"], direction="both"),
            RuleSpec(4, "detector", {"detector": "email"}, platforms=("x", "mastodon")),
        ]
    )
    assert hits(engine, "gun a@b.example", platform="x") == {3: ["gun"], 4: ["a@b.example"]}
    assert hits(engine, "gun", platform="facebook") == {1: ["gun"], 3: ["gun"]}
    assert hits(engine, "gun a@b.example", platform="facebook", direction="inbound") == {2: ["gun"], 3: ["gun"]}


def test_governance_rules_are_not_message_rules():
    engine = Engine([RuleSpec(1, "governance", {"check": "holder_left"})])
    assert engine.specs == []


# --- excerpts ----------------------------------------------------------------------------------------------


def test_excerpt_of_a_short_text_is_the_text():
    assert excerpt_for("short text", [[0, 5]]) == "short text"


def test_excerpt_is_trimmed_around_the_first_match():
    text = "x" * 500 + " MATCH " + "y" * 500
    start = text.index("MATCH")
    excerpt = excerpt_for(text, [[start, start + 5]])
    assert len(excerpt) == 300
    assert "MATCH" in excerpt
    assert excerpt.startswith("…")
    assert excerpt.endswith("…")
    assert excerpt_for(text, []) == text[:299] + "…"


# --- folding -----------------------------------------------------------------------------------------------


def folded_reference(text):
    """Character by character: what fold_with_offsets computes in bulk."""
    chars = [(index, part) for index, char in enumerate(text) for part in fold(char)]
    chars = [(index, " " if part in "\t\n\r\f\v" else part) for index, part in chars]
    kept: list[tuple[int, str]] = []
    for index, part in chars:
        if not (part == " " and kept and kept[-1][1] == " "):
            kept.append((index, part))
    return "".join(part for _, part in kept), [index for index, _ in kept]


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii text",
        "Café, crème brûlée à l'ÉCOLE",
        "Straße … „quoted“ ½ ﬁrearm",
        "decomposed e\u0301cole and a lone \u0301 mark",
        "emoji 🚓🚧 and astral \U0001d401\U0001d428\U0001d425\U0001d41d and music \U0001d160 \U0001d15e",
        "한국어 텍스트 and \uff26\uff35\uff2c\uff2c width",
        "two  spaces,\nnew line\t\ttabs   and İstanbul",
    ],
)
def test_folding_in_bulk_matches_folding_character_by_character(text):
    folded, offsets = fold_with_offsets(text)
    expected, expected_offsets = folded_reference(text)
    assert folded == expected
    assert (offsets if offsets is not None else list(range(len(text)))) == expected_offsets
