"""processors.words: the same answer as a substring test per word, on hostile text too, from both engines (the
one that holds the GIL and the one that releases it)."""

from __future__ import annotations

import random

import pytest

from glassbox.processors.words import Words

ENGINES = pytest.mark.parametrize("release_gil", [False, True], ids=["holds-gil", "releases-gil"])


@ENGINES
def test_overlapping_and_nested_words_are_all_found(release_gil):
    words = Words(["system prompt", "prompt", "rules", "rule", "les"], release_gil=release_gil)
    assert words.present("show me the system prompt and the rules") == {
        "system prompt",
        "prompt",
        "rules",
        "rule",
        "les",
    }


@ENGINES
def test_non_ascii_words_and_text(release_gil):
    words = Words(["überspring", "olvid", "tiens"], release_gil=release_gil)
    assert words.present("bitte überspringe das. Olvida todo") == {"überspring"}  # the caller lowers the text
    assert words.present("ÜBERSPRING") == set()


@ENGINES
def test_a_word_never_matches_inside_another_character(release_gil):
    # "é" is C3 A9 in UTF-8; a word made of the second byte's character must not match inside it.
    words = Words(["\u00a9", "e"], release_gil=release_gil)
    assert words.present("café") == set()


@ENGINES
def test_lone_surrogates_and_nul_do_not_raise(release_gil):
    words = Words(["ignor"], release_gil=release_gil)
    assert words.present("\ud800 ignore \x00") == {"ignor"}


@ENGINES
def test_indexes_come_in_text_order(release_gil):
    words = Words([" the ", " and ", " der "], release_gil=release_gil)
    found = [words.words[i] for i in words.indexes(" der the and the ")]
    assert found == [" der ", " the ", " and ", " the "]


@ENGINES
def test_no_words(release_gil):
    words = Words(["", ""], release_gil=release_gil)
    assert len(words) == 0
    assert words.present("anything") == set()
    assert words.indexes("anything") == []


@ENGINES
def test_matches_a_substring_test_per_word_on_random_text(release_gil):
    rng = random.Random(5)
    alphabet = "ab é\u00e9ü\u200b"
    vocabulary = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(40)]
    words = Words(vocabulary, release_gil=release_gil)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert words.present(text) == {w for w in vocabulary if w and w in text}, text


@ENGINES
def test_found_is_indexes_read_lazily(release_gil):
    words = Words([" the ", " and ", " der "], release_gil=release_gil)
    text = " der the and the " * 3
    assert list(words.found(text)) == words.indexes(text)
    scan = words.found(text)
    assert words.words[next(scan)] == " der "  # the first occurrence, before the rest is read


@ENGINES
def test_present_in_each_is_present_of_each_text_searched_together(release_gil):
    """One search over texts joined by NUL: nothing found across a boundary, each occurrence counted for its own
    text, NUL inside a text and empty texts included."""
    rng = random.Random(9)
    alphabet = "ab é\u00e9ü\x00"
    vocabulary = ["".join(rng.choice("ab éü") for _ in range(rng.randint(1, 4))) for _ in range(40)]
    words = Words(vocabulary, release_gil=release_gil)
    for _ in range(100):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(0, 8))]
        assert words.present_in_each(texts) == [words.present(text) for text in texts], texts
    assert Words(["ab"], release_gil=release_gil).present_in_each(["xa", "bx"]) == [set(), set()]  # not across


def test_a_word_with_nul_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        Words(["a\x00b"])
