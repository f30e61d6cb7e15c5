"""Where the ``language_mismatch`` thresholds come from: py3langid on a corpus of support-bot sentences in seven
languages, cut word by word into every prefix. Below ~20 letters it misclassifies; from the default
``min_letters`` (30) up it never does, so two texts in the same language are never reported as a mismatch, and
two full sentences in different (not close) languages always are."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from glassbox.processors.evals.config import LanguageMismatch
from glassbox.processors.evals.language import Detector, clean, letters, same_language

DEFAULTS = LanguageMismatch()
DETECTOR = Detector()
CORPUS = {
    "en": [
        "Standard delivery takes five to seven business days for items that are in stock, and six to eight weeks "
        "for sofas that are made to order.",
        "I'm sorry to hear that your table arrived with a scratch on the top. Please send us two photos and we will "
        "arrange a replacement as soon as possible.",
        "You can return any item within thirty days of delivery for a full refund, as long as it is in its original "
        "condition and packaging.",
        "To reset your password, open the app, tap on your profile picture, choose settings and then select the "
        "option to change your password.",
        "The warranty covers manufacturing defects for two years from the date of purchase, but it does not cover "
        "normal wear and tear or accidental damage.",
        "Could you tell me the order number from your confirmation email so that I can check the status of your "
        "delivery for you?",
    ],
    "de": [
        "Die Standardlieferung dauert fünf bis sieben Werktage für vorrätige Artikel und sechs bis acht Wochen für "
        "Sofas, die auf Bestellung gefertigt werden.",
        "Es tut mir leid, dass Ihr Tisch mit einem Kratzer angekommen ist. Bitte schicken Sie uns zwei Fotos, dann "
        "organisieren wir so schnell wie möglich einen Ersatz.",
        "Sie können jeden Artikel innerhalb von dreißig Tagen nach der Lieferung zurückgeben und erhalten den vollen "
        "Kaufpreis erstattet.",
        "Um Ihr Passwort zurückzusetzen, öffnen Sie die App, tippen Sie auf Ihr Profilbild und wählen Sie dann die "
        "Einstellungen aus.",
        "Die Garantie deckt Herstellungsfehler für zwei Jahre ab dem Kaufdatum ab, jedoch keine normale Abnutzung "
        "oder versehentliche Schäden.",
    ],
    "fr": [
        "La livraison standard prend de cinq à sept jours ouvrables pour les articles en stock, et de six à huit "
        "semaines pour les canapés fabriqués sur commande.",
        "Je suis désolé d'apprendre que votre table est arrivée avec une rayure. Envoyez-nous deux photos et nous "
        "organiserons un remplacement dès que possible.",
        "Vous pouvez retourner tout article dans les trente jours suivant la livraison pour un remboursement "
        "complet, s'il est dans son état d'origine.",
        "Pour réinitialiser votre mot de passe, ouvrez l'application, touchez votre photo de profil puis choisissez "
        "les paramètres.",
        "Pourriez-vous m'indiquer le numéro de commande figurant dans votre e-mail de confirmation afin que je "
        "vérifie votre livraison ?",
    ],
    "es": [
        "La entrega estándar tarda de cinco a siete días hábiles para los artículos en stock, y de seis a ocho "
        "semanas para los sofás hechos por encargo.",
        "Siento mucho que su mesa haya llegado con un arañazo. Envíenos dos fotos y organizaremos un reemplazo lo "
        "antes posible.",
        "Puede devolver cualquier artículo dentro de los treinta días posteriores a la entrega para obtener un "
        "reembolso completo.",
        "¿Podría indicarme el número de pedido que aparece en su correo de confirmación para que pueda comprobar el "
        "estado de su entrega?",
        "La tela está hecha de una mezcla de algodón y lino, lo que la hace transpirable y cómoda, pero debe "
        "limpiarse de forma profesional.",
    ],
    "it": [
        "La consegna standard richiede da cinque a sette giorni lavorativi per gli articoli disponibili e da sei a "
        "otto settimane per i divani su misura.",
        "Mi dispiace che il suo tavolo sia arrivato con un graffio. Ci invii due foto e organizzeremo una "
        "sostituzione il prima possibile.",
        "Potrebbe indicarmi il numero d'ordine presente nella sua email di conferma, così posso verificare lo stato "
        "della consegna?",
    ],
    "pt": [
        "A entrega padrão demora de cinco a sete dias úteis para os artigos em stock e de seis a oito semanas para os "
        "sofás feitos por encomenda.",
        "Lamento que a sua mesa tenha chegado com um risco. Envie-nos duas fotografias e organizaremos uma "
        "substituição o mais rapidamente possível.",
        "Poderia indicar-me o número da encomenda que consta do seu email de confirmação, para que eu possa "
        "verificar o estado da entrega?",
    ],
    "nl": [
        "Standaardlevering duurt vijf tot zeven werkdagen voor artikelen op voorraad en zes tot acht weken voor "
        "banken die op bestelling worden gemaakt.",
        "Het spijt me dat uw tafel met een kras is aangekomen. Stuur ons twee foto's en we regelen zo snel mogelijk "
        "een vervanging.",
        "Om uw wachtwoord opnieuw in te stellen, opent u de app, tikt u op uw profielfoto en kiest u vervolgens de "
        "instellingen.",
    ],
}


def prefixes(text: str):
    words = text.split()
    for n in range(1, len(words) + 1):
        yield " ".join(words[:n])


def test_above_the_default_threshold_every_prefix_is_identified():
    judged = 0
    for language, texts in CORPUS.items():
        for prefix in (p for t in texts for p in prefixes(t)):
            text = clean(prefix)
            if letters(text) < DEFAULTS.min_letters:
                continue
            detected, confidence = DETECTOR.detect(text)
            judged += 1
            assert detected == language and confidence >= DEFAULTS.min_confidence, (prefix, detected, confidence)
    assert judged > 400


def test_below_20_letters_py3langid_errs_so_a_threshold_is_needed():
    wrong = [
        (prefix, DETECTOR.detect(prefix)[0])
        for language, texts in CORPUS.items()
        for prefix in (p for t in texts for p in prefixes(t))
        if letters(prefix) < 20 and not same_language(DETECTOR.detect(prefix)[0], language)
    ]
    assert len(wrong) >= 10, wrong
    assert all(letters(prefix) < 20 for prefix, _ in wrong)


def test_full_sentences_in_different_languages_always_differ():
    for (a, texts_a), (b, texts_b) in itertools.permutations(CORPUS.items(), 2):
        if same_language(a, b):
            continue
        for text_a, text_b in itertools.product(texts_a[:2], texts_b[:2]):
            assert not same_language(DETECTOR.detect(text_a)[0], DETECTOR.detect(text_b)[0]), (text_a, text_b)


def test_cleaning_keeps_prose_only():
    text = "Hi <PERSON>, see https://shop.example/t/1 or mail ana@example.com: `run(1)` [REDACTED] 42\n```\nx=1\n```"
    assert clean(text).split() == ["Hi", ",", "see", "or", "mail", ":"]
    assert letters("abc 123 ü") == 4


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF)), st.integers(min_value=1, max_value=50))
def test_letters_counts_what_isalpha_says_ascii_or_not(text, enough):
    expected = sum(1 for ch in text if ch.isalpha())
    assert letters(text) == expected
    assert letters(text, enough) == min(expected, enough)


def test_quick_settles_only_the_plain_cases():
    from glassbox.processors.evals.language import quick

    assert quick("Where is my sofa? It was ordered two weeks ago and I have not heard anything from you.") == "en"
    assert quick("Wo ist mein Sofa? Ich habe es vor zwei Wochen bestellt und noch nichts gehört, bitte.") == "de"
    assert quick("Où est mon canapé ? Je l'ai commandé il y a deux semaines et je n'ai pas de nouvelles.") == "fr"
    assert quick("Sofa 48213 status?") is None  # too few function words to be plain
    assert quick("Hej, var är min soffa? Jag beställde den för två veckor sedan.") is None  # not a listed language


def test_a_mismatch_is_still_found_when_the_quick_path_cannot_settle_it():
    from glassbox.processors.evals import builtins as B
    from glassbox.processors.evals.config import Builtins
    from glassbox.processors.evals.language import Detector
    from tests.processors.evals.spans import llm

    [evaluate] = [b.evaluate for b in B.build(Builtins(), Detector()) if b.label == "language_mismatch"]
    same = evaluate(
        llm(
            "Where is my sofa? I ordered it two weeks ago and have not heard anything.",
            "Your sofa left our warehouse this morning and will be with you on Friday.",
        )
    )
    different = evaluate(
        llm(
            "Where is my sofa? I ordered it two weeks ago and have not heard anything.",
            "Votre canapé a quitté notre entrepôt ce matin et arrivera chez vous vendredi.",
        )
    )

    assert (same.value, same.reasoning) == (False, "both en")
    assert (different.value, different.assessment) == (True, "fail")


def test_where_quick_settles_a_prefix_the_model_agrees():
    from glassbox.processors.evals.language import quick

    settled = 0
    for language, texts in CORPUS.items():
        for prefix in (p for t in texts for p in prefixes(t)):
            plain = quick(clean(prefix))
            if plain is None:
                continue
            settled += 1
            assert plain == language, prefix
    assert settled > 200  # the quick path is what runs on most traffic


def test_quick_reads_words_through_accents_punctuation_and_broken_text():
    from glassbox.processors.evals.language import quick

    # punctuation glued to words, next to accented letters (the bytes path must split them like spaces would)
    assert quick("Où?est-mon canapé?Je(l'ai)commandé,et:je/n'ai\tpas;de«nouvelles»,merci!") == "fr"
    assert quick("¿Dónde está mi sofá?Lo pedí hace dos semanas,gracias,pero no llegó.") == "es"
    assert quick("where\ud800is the sofa and the table, and is it with you?") == "en"  # a lone surrogate
    assert quick("") is None and quick("!!!???") is None


def _quick_by_search(text: str) -> str | None:
    """What ``quick`` decides, worked out another way: every occurrence of " word " (overlapping) in the lowered,
    punctuation-spaced and space-padded start of the text, found by regular expression, read in text order."""
    from glassbox.processors.evals import language as L

    lowered = text[: L.QUICK_SAMPLE].lower().encode("utf-8", "surrogatepass").translate(L._PUNCTUATION)
    spaced = " " + lowered.decode("utf-8", "surrogatepass") + " "
    hits = sorted(
        (match.start(), language)
        for word, (language,) in L._STOP_INDEX.items()
        for match in re.finditer(f"(?= {re.escape(word)} )", spaced)
    )
    counts: dict[str, int] = {}
    for _, language in hits:
        counts[language] = counts.get(language, 0) + 1
        if counts[language] >= 3 and all(counts[language] > 2 * n for o, n in counts.items() if o != language):
            return language
    return None


_WORDS = ["the", "and", "is", "The", "THE", "und", "der", "le", "la", "et", "y", "el", "e", "é", "de", "van", "il"]
_WORDS += ["sofa", "Sofa", "für", "où", "İs", "x" * 30, "\ud800is", "l'", "o'the"]
_GAPS = [" ", "  ", ", ", ". ", "\n", "\t", "\u00a0", "\x0c", "-", "...", "¿", "!", "", "(", ")"]


@given(st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_GAPS)), max_size=70))
@settings(max_examples=500, derandomize=True, deadline=None)
def test_quick_decides_as_a_search_for_each_function_word_would(parts):
    """``quick`` (one automaton pass, stopping at the first three words when they agree) decides exactly what
    finding every function word in the text would, whatever the separators, case, accents or length."""
    from glassbox.processors.evals.language import quick

    text = "".join(word + gap for word, gap in parts)
    assert quick(text) == _quick_by_search(text), text
