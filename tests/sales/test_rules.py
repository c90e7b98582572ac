"""A bad rules file gets one sentence naming the line."""

from __future__ import annotations

import pytest

from analytics.core.errors import RevLensError
from analytics.sales.rules import load_rules, parse_rules
from tests.sales.test_scoring import RULES


@pytest.mark.parametrize(
    "change, message",
    [
        (("+20 segment is Enterprise", "+20 segmnt is Enterprise"), "Line 4 of the rules: unknown field 'segmnt'"),
        (("+10 employees >= 1000", "+10 employees >= lots"), "Line 5 of the rules: 'lots' is not a number"),
        (("+15 per webinar_attended", "+15 per webinars"), "Line 14 of the rules: unknown event 'webinars'"),
        (("+10 employees >= 1000", "ten employees >= 1000"), "Line 5 of the rules: a rule starts with signed points"),
        (("half_life_days = 10", "half_life = 10"), "Line 12 of the rules: unknown setting 'half_life'"),
        (("[grades]", "[grade]"), "Line 18 of the rules: unknown group [grade]"),
        (("limit = 25", "limit = x"), "Line 11 of the rules: 'x' is not a number"),
        (
            ("+4 per touchpoint max 6", "+4 per touchpoint max -6"),
            "Line 13 of the rules: the cap -6 must have the sign",
        ),
    ],
)
def test_a_bad_line_is_named(change, message):
    old, new = change
    assert old in RULES
    with pytest.raises(RevLensError) as error:
        parse_rules(RULES.replace(old, new, 1), "the rules")
    assert message in str(error.value)


def test_a_missing_group_is_named():
    text = RULES.split("[qualification]")[0]
    with pytest.raises(RevLensError, match=r"the rules has no \[qualification\] group"):
        parse_rules(text, "the rules")


def test_a_missing_setting_names_its_group_line():
    with pytest.raises(RevLensError, match=r"Line 10 of the rules: the group \[engagement\] needs 'limit = …'"):
        parse_rules(RULES.replace("limit = 25\n", ""), "the rules")


def test_a_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(RevLensError, match="No rules file at"):
        load_rules(tmp_path / "nope.txt")
