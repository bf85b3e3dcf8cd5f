"""The one script classifier the ocr and text_clues tools share, and each tool's names on it."""

from __future__ import annotations

import pytest

from gre.tools.ocr import scripts as ocr
from gre.tools.support.scripts import (
    KANA,
    letter_count,
    script_counts,
    script_of,
    script_shares,
)
from gre.tools.text_clues import scripts as text_clues


@pytest.mark.parametrize(
    ("ch", "script"),
    [
        ("é", "Latin"),
        ("Ж", "Cyrillic"),
        ("λ", "Greek"),
        ("ب", "Arabic"),
        ("،", "Arabic"),  # ARABIC COMMA: by name, whatever the category
        ("א", "Hebrew"),
        ("द", "Devanagari"),
        ("ि", "Devanagari"),  # a vowel sign (a mark)
        ("ก", "Thai"),
        ("中", "Han"),
        ("〇", "Han"),  # IDEOGRAPHIC NUMBER ZERO
        ("한", "Hangul"),
        ("ﾡ", "Hangul"),  # halfwidth
        ("の", "Hiragana"),
        ("ア", "Katakana"),
        ("ｱ", "Katakana"),  # halfwidth
        ("ー", KANA),  # the prolonged sound mark both kana use
        ("Ａ", "Latin"),  # fullwidth
        ("ᠮ", "Mongolian"),
        ("ㄅ", "Bopomofo"),
        ("ᐊ", "Canadian Aboriginal"),
        ("7", None),
        ("７", None),  # fullwidth digit
        (",", None),
        ("\u0301", None),  # COMBINING ACUTE ACCENT: no script in its name
        ("€", None),
        ("\ue000", None),  # private use: no name
    ],
)
def test_script_of(ch: str, script: str | None) -> None:
    assert script_of(ch) == script


def test_script_counts_letters_in_the_order_first_seen() -> None:
    counts = script_counts("Москва 12, Moscow ー")
    assert list(counts.items()) == [("Cyrillic", 6), ("Latin", 6), (KANA, 1)]
    assert script_counts("") == {}


def test_script_counts_with_a_classifier_and_every_character() -> None:
    def upper_latin(ch: str) -> str | None:
        return "Upper" if ch.isupper() else script_of(ch)

    assert script_counts("Ab", upper_latin) == {"Upper": 1, "Latin": 1}
    assert script_counts("दि", counted=None) == {"Devanagari": 2}  # the vowel sign too
    assert script_counts("दि") == {"Devanagari": 1}  # letters only


def test_script_shares_most_first() -> None:
    assert script_shares(script_counts("abc дд")) == [("Latin", 0.6), ("Cyrillic", 0.4)]
    assert script_shares(script_counts("ab дд")) == [("Latin", 0.5), ("Cyrillic", 0.5)]
    assert script_shares(script_counts("12 -")) == []


def test_letter_count_dense_scripts_count_two() -> None:
    assert letter_count("Rue 3") == 3
    assert letter_count("北京") == 4 and letter_count("서울") == 4
    assert letter_count("のア") == 4 and letter_count("ｱ") == 2
    assert letter_count("ー") == 1  # kana's shared mark is not a syllable
    assert letter_count("〇") == 0  # a number, not a letter
    assert letter_count("Rue 3", counted=str.isalnum) == 4
    assert letter_count("ab", dense={"Latin"}) == 4


# Where the two tools' names for a character differ, and why (each as before the classifier
# was shared): ocr names the scripts of its tesseract packs, kana and halfwidth forms as
# Japanese, and only letters and marks; text_clues names every script by its Unicode name.
@pytest.mark.parametrize(
    ("ch", "ocr_script", "text_clues_script"),
    [
        ("é", "Latin", "Latin"),
        ("中", "Han", "Han"),
        ("の", "Japanese", "Hiragana"),
        ("ア", "Japanese", "Katakana"),
        ("ｱ", "Japanese", "Katakana"),
        ("ー", "Japanese", None),  # KATAKANA-HIRAGANA PROLONGED SOUND MARK
        ("ﾡ", "Japanese", "Hangul"),  # HALFWIDTH HANGUL LETTER KIYEOK
        ("Ａ", "Latin", "Latin"),
        ("ᐊ", "Canadian_Aboriginal", "Canadian Aboriginal"),
        ("ᠮ", None, "Mongolian"),  # no tesseract pack in SCRIPT_LANGUAGES
        ("ㄅ", None, "Bopomofo"),
        ("،", None, "Arabic"),  # punctuation: ocr looks at letters and marks only
        ("〇", "Han", "Han"),  # a number ocr counts as Han
        ("7", None, None),
    ],
)
def test_each_tool_names_scripts_its_way(
    ch: str, ocr_script: str | None, text_clues_script: str | None
) -> None:
    assert ocr.char_script(ch) == ocr_script
    assert text_clues.script_of(ch) == text_clues_script


def test_each_tool_counts_scripts_its_way() -> None:
    # ocr: letters, marks (the vowel sign) and 〇; text_clues: letters only
    assert ocr.text_scripts("दि 〇") == ["Devanagari", "Han"]
    assert text_clues.script_counts("दि 〇") == {"Devanagari": 1}
    assert ocr.text_scripts("ラーメン") == ["Japanese"]
    assert text_clues.script_counts("ラーメン") == {"Katakana": 3}
    assert ocr.text_scripts("東京 のりば") == ["Japanese"]  # kanji with kana
    assert text_clues.script_counts("東京 のりば") == {"Han": 2, "Hiragana": 3}


def test_each_tool_counts_letters_its_way() -> None:
    # ocr counts digits and marks, and kana's shared mark as kana; text_clues letters only
    assert ocr.letters("Rue 3") == 4 and letter_count("Rue 3") == 3
    assert ocr.letters("ー") == 2 and letter_count("ー") == 1
    assert ocr.letters("दि") == 2 and letter_count("दि") == 1
    assert ocr.letters("北京") == letter_count("北京") == 4
