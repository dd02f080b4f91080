"""Text: language, script, copy-paste, encoding damage, on real strings."""

from __future__ import annotations

import pytest

from firstwatch.profiling import Limits, profile_input
from unit.profiling import docs

SCRIPTS = {
    "en": {"Latin"},
    "de": {"Latin"},
    "fr": {"Latin"},
    "es": {"Latin"},
    "ru": {"Cyrillic"},
    "el": {"Greek"},
    "ar": {"Arabic"},
    "zh": {"Han"},
    # Japanese mixes kana and kanji; either may lead.
    "ja": {"Hiragana", "Han"},
}


@pytest.mark.parametrize("language", sorted(SCRIPTS))
def test_language_and_script(language: str) -> None:
    profile = profile_input(docs.SAMPLES[language])
    assert profile["profile.kind"] == "text"
    assert profile["text.chars"] == len(docs.SAMPLES[language])
    assert profile["text.language"] == language
    assert profile["text.language_score"] > 0.5
    assert profile["text.script"] in SCRIPTS[language]
    assert profile["text.repeated_share"] == 0.0
    assert profile["text.replacement_share"] == 0.0
    assert profile["text.mojibake_share"] == 0.0
    assert profile["text.nonprintable_share"] == 0.0


def test_dominant_script_and_its_share_in_mixed_text() -> None:
    text = docs.SAMPLES["ru"] + " " + "Invoice ACME"
    profile = profile_input(text)
    assert profile["text.script"] == "Cyrillic"
    assert 0.8 < profile["text.script_share"] < 1.0


def test_text_without_letters() -> None:
    profile = profile_input("2024-03-01 12:00 -- 1,200.00 / 3")
    assert profile["text.script"] == "none"
    assert profile["text.language"] == "und"
    assert profile["text.digit_share"] > 0.4


def test_short_text_is_undetermined() -> None:
    assert profile_input("ok")["text.language"] == "und"


def test_text_pasted_five_times() -> None:
    pasted = "\n\n".join([docs.SAMPLES["en"]] * 5)
    profile = profile_input(pasted)
    assert profile["text.repeated_share"] == pytest.approx(0.8, abs=0.01)
    assert profile["text.language"] == "en"


def test_text_pasted_five_times_on_one_line() -> None:
    pasted = " ".join([docs.SAMPLES["de"]] * 5)
    assert profile_input(pasted)["text.repeated_share"] == pytest.approx(0.8, abs=0.01)


def test_short_repeated_lines_are_not_copy_paste() -> None:
    lines = [f"Item {n}: {docs.SAMPLES['en'].split('.')[0]} number {n}." for n in range(8)]
    text = "\n---\n".join(lines)
    assert profile_input(text)["text.repeated_share"] == 0.0


def test_legacy_bytes_decoded_as_utf8_leave_replacement_characters() -> None:
    damaged = docs.SAMPLES["fr"].encode("latin-1").decode("utf-8", errors="replace")
    profile = profile_input(damaged)
    assert profile["text.replacement_share"] > 0.01
    assert profile["text.mojibake_share"] == 0.0


def test_utf8_bytes_decoded_as_cp1252_are_mojibake() -> None:
    damaged = (docs.SAMPLES["es"] + " ‘Total’ – 30 €").encode("utf-8").decode("cp1252")
    profile = profile_input(damaged)
    assert profile["text.mojibake_share"] > 0.02
    assert profile["text.replacement_share"] == 0.0


def test_cyrillic_utf8_decoded_as_cp1252_is_mojibake() -> None:
    damaged = docs.SAMPLES["ru"].encode("utf-8").decode("cp1252", errors="replace")
    assert profile_input(damaged)["text.mojibake_share"] > 0.5


def test_accented_text_and_typography_are_not_mojibake() -> None:
    text = "« Café à emporter » — Ãgua, SÃO PAULO, l’été, 1 200 € · coût : 3 ½ €"
    assert profile_input(text)["text.mojibake_share"] == 0.0


def test_control_characters_count_but_whitespace_does_not() -> None:
    clean = profile_input("Line one\tcolumn\r\nLine two\n")
    assert clean["text.nonprintable_share"] == 0.0
    text = "Line\x00one\x07two\x1b[0m\ufeff"
    dirty = profile_input(text)
    assert dirty["text.nonprintable_share"] == pytest.approx(4 / len(text), abs=1e-6)


def test_long_text_is_analysed_up_to_the_cap() -> None:
    text = docs.SAMPLES["en"] * 100
    profile = profile_input(text, limits=Limits(max_text_chars=1000))
    assert profile["text.chars"] == len(text)
    assert profile["profile.capped"] is True
    assert profile["profile.cap"] == "text"
    assert profile["text.language"] == "en"
