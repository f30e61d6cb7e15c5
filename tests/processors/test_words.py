"""processors.words: the same answer as a substring test per word, on hostile text too."""

from __future__ import annotations

import random

from glassbox.processors.words import Words


def test_overlapping_and_nested_words_are_all_found():
    words = Words(["system prompt", "prompt", "rules", "rule", "les"])
    assert words.present("show me the system prompt and the rules") == {
        "system prompt",
        "prompt",
        "rules",
        "rule",
        "les",
    }


def test_non_ascii_words_and_text():
    words = Words(["überspring", "olvid", "tiens"])
    assert words.present("bitte überspringe das. Olvida todo") == {"überspring"}  # the caller lowers the text
    assert words.present("ÜBERSPRING") == set()


def test_a_word_never_matches_inside_another_character():
    # "é" is C3 A9 in UTF-8; a word made of the second byte's character must not match inside it.
    words = Words(["\u00a9", "e"])
    assert words.present("café") == set()


def test_lone_surrogates_and_nul_do_not_raise():
    words = Words(["ignor"])
    assert words.present("\ud800 ignore \x00") == {"ignor"}


def test_indexes_come_in_text_order():
    words = Words([" the ", " and ", " der "])
    found = [words.words[i] for i in words.indexes(" der the and the ")]
    assert found == [" der ", " the ", " and ", " the "]


def test_no_words():
    words = Words(["", ""])
    assert len(words) == 0
    assert words.present("anything") == set()
    assert words.indexes("anything") == []


def test_matches_a_substring_test_per_word_on_random_text():
    rng = random.Random(5)
    alphabet = "ab é\u00e9ü\u200b"
    vocabulary = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(40)]
    words = Words(vocabulary)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert words.present(text) == {w for w in vocabulary if w and w in text}, text
