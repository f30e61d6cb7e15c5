"""Curated, versioned pattern sets for the text built-ins: failure to answer and prompt injection.

Why our own list: no offline, maintained and small pattern list ships on PyPI. The maintained detectors
(llm-guard, NeMo Guardrails, pytector, Lakera, Rebuff's hosted API) rely on a downloaded model or a service; the
regex-only packages are single-author projects of a few months. The patterns below are written for this
relay, from these public sources (cited per group), and tested on positive AND negative texts
(tests/processors/evals/test_builtins.py), including benign texts that say "ignore":

* [REBUFF] protectai/rebuff, ``python-sdk/rebuff/detect_pi_heuristics.py``: verb x adjective x object
  combinations ("ignore previous instructions", "disregard prior directives"...).
* [VIGIL] deadbits/vigil-llm (Apache-2.0), ``data/yara/instruction_bypass.yar`` and
  ``data/yara/system_instructions.yar``: instruction-bypass phrasing and chat-template tokens.
* [OWASP] OWASP Top 10 for LLM Applications 2025, LLM01 Prompt Injection, and the OWASP "LLM Prompt Injection
  Prevention Cheat Sheet": override, role-play/jailbreak personas, system-prompt extraction.
* [DAN] "Do Anything Now": Shen et al., CCS 2024 (the verazuo/jailbreak_llms collection): persona jailbreaks.
* [TEMPLATES] the chat templates of ChatML (``<|im_start|>``), Llama 2 (``[INST]``, ``<<SYS>>``), Llama 3
  (``<|start_header_id|>``) and Gemma (``<start_of_turn>``): special tokens a user never types by accident.
* Refusals: phrasings from OpenAI, Anthropic, Google and Mistral models' refusals and from Datadog's
  "Failure to Answer" managed evaluation categories (refusal, no information, redirection), written in
  English, German, French, Spanish, Italian and Portuguese.

Bump the version when a pattern changes: it is in the evaluations' reasoning, so results stay comparable.
"""

from __future__ import annotations

import re

from glassbox.processors.words import Words

INJECTION_PATTERNS_VERSION = "1"
REFUSAL_PATTERNS_VERSION = "1"

# Patterns are written in lower case and matched against lower-cased text, without re.IGNORECASE: about twice as
# fast (tests/processors/evals/test_builtins.py checks every pattern is lower case). Rules that need the original
# case say so (``CASED``).
_F = re.UNICODE


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _F)


# --- failure to answer -------------------------------------------------------------------------------------------
# Matched on the opening sentences of an answer (after greetings and apologies), apostrophes normalized to '.
_CANT = r"(?:can't|cannot|can not|won't|will not)"
_HELP_VERBS = (
    r"(?:help|assist|provide|answer|comply|fulfil+|support|share|discuss|give|complete|do that|do this|"
    r"process|disclose|respond)"
)
REFUSAL_RULES = (
    # English
    rf"\bi {_CANT} (?:\w+ ){{0,2}}{_HELP_VERBS}\b",
    rf"\bi(?:'m| am) (?:not able|unable|not allowed|not permitted|not authori[sz]ed) to (?:\w+ ){{0,1}}{_HELP_VERBS}\b",
    rf"\bi (?:won't|will not) be able to (?:\w+ ){{0,1}}{_HELP_VERBS}\b",
    r"\bi must (?:respectfully |politely )?decline\b",
    r"\bas an ai(?: language model| assistant| model)?,? i (?:can't|cannot|don't|do not|am not|'m not)\b",
    rf"\b(?:that|this)(?:'s| is) not something i (?:can|am able to) {_HELP_VERBS}",
    # German
    r"\bich kann (?:\w+ ){0,3}nicht (?:helfen|weiterhelfen|behilflich|beantworten|antworten|unterstützen|geben)",
    r"\bkann ich (?:\w+ ){0,3}nicht (?:helfen|weiterhelfen|behilflich|beantworten|antworten|sagen|tun|machen)",
    r"\bich bin (?:leider )?nicht in der lage\b",
    r"\bich darf (?:\w+ ){0,3}(?:nicht|keine) (?:\w+ ){0,2}(?:geben|helfen|sagen|beantworten|teilen|auskunft)",
    # French
    r"\bje ne (?:peux|pourrai|saurais) pas (?:\w+ ){0,2}(?:aider|répondre|fournir|assister|communiquer|partager|"
    r"traiter|donner)",
    r"\bje ne suis pas en mesure de\b",
    r"\bil m'est impossible de\b",
    r"\bje dois (?:malheureusement |respectueusement )?(?:refuser|décliner)\b",
    # Spanish
    r"\bno (?:puedo|podré) (?:\w+ ){0,2}(?:ayudar|responder|proporcionar|asistir|ofrecer|compartir|dar|facilitar)",
    r"\bno estoy en (?:condiciones|capacidad|posición) de\b",
    r"\bno me es posible\b",
    r"\bdebo (?:rechazar|declinar)\b",
    # Italian
    r"\bnon (?:posso|potrò) (?:\w+ ){0,2}(?:aiutar\w*|rispondere|fornire|assistere|condividere|dare)",
    r"\bnon sono in grado di\b",
    # Portuguese
    r"\bnão (?:posso|poderei) (?:\w+ ){0,2}(?:ajudar|responder|fornecer|auxiliar|partilhar|compartilhar|dar)",
    r"\bnão (?:sou|estou) (?:capaz|em condições) de\b",
)
REFUSAL = _any(*REFUSAL_RULES)
NO_INFORMATION_RULES = (
    # English
    r"\bi (?:do not|don't|really don't) know(?:[.!,;]|$| (?:the answer|that|about (?:that|this)|anything about))",
    r"\bi (?:do not|don't) have (?:any |enough |the |that |this |those |real-time |current |up-to-date )?"
    r"(?:information|info|details|data|knowledge|access)\b",
    r"\bi (?:couldn't|could not|was unable to|wasn't able to|can't|cannot) find (?:any )?"
    r"(?:information|relevant information|an answer|anything (?:about|on|relevant))\b",
    r"\b(?:the|this) (?:provided )?(?:context|documents?|sources?|information provided) (?:does not|doesn't|do not|"
    r"don't) (?:contain|mention|include|provide|say)\b",
    r"\bthere(?:'s| is) no (?:information|answer) (?:available|about|on|in)\b",
    # German
    r"\bich weiß (?:es|das) (?:leider )?nicht\b|\bich weiß (?:leider )?nicht(?:[.!;]|$)",
    r"\b(?:ich habe|dazu habe ich|darüber habe ich|mir liegen|dazu liegen mir) (?:leider )?keine "
    r"(?:informationen|angaben|daten|kenntnisse|details)\b",
    r"\bich konnte (?:leider )?keine (?:informationen|antwort|angaben)\b",
    # French
    r"\bje ne (?:le )?sais pas(?:[.!,;]|$| (?:la réponse|quoi (?:vous )?répondre))",
    r"\bje n'ai pas (?:d'informations?|accès|de données|de détails|cette information|ces informations)\b",
    r"\bje n'ai (?:trouvé )?aucune (?:information|donnée)\b",
    r"\bje ne dispose pas (?:d'informations?|de (?:cette|ces) informations?|de données)\b",
    # Spanish
    r"\bno (?:lo )?sé(?:[.!,;]|$| (?:la respuesta|nada (?:de|sobre)|qué (?:decir|responder)))",
    r"\bno (?:tengo|dispongo de) (?:\w+ ){0,1}(?:información|acceso|datos|detalles)\b",
    r"\bno (?:he podido|pude) encontrar (?:ninguna )?información\b",
    # Italian
    r"\bnon lo so\b",
    r"\bnon (?:ho|dispongo di) (?:\w+ ){0,1}(?:informazioni|accesso|dati|dettagli)\b",
    # Portuguese
    r"\bnão sei(?:[.!,;]|$| (?:a resposta|nada sobre|o que responder))",
    r"\bnão (?:tenho|disponho de) (?:\w+ ){0,1}(?:informaç(?:ão|ões)|acesso|dados|detalhes)\b",
)
NO_INFORMATION = _any(*NO_INFORMATION_RULES)
REDIRECTION_RULES = (
    # English
    r"\bplease (?:contact|reach out to|call|email|get in touch with|consult|speak (?:to|with)) (?:our |the |a |an |"
    r"your )?(?:customer |local |medical |legal )?(?:support|service|help ?desk|team|agent|representative|"
    r"administrator|doctor|physician|lawyer|attorney|professional|specialist)",
    r"\b(?:you (?:should|may want to|might want to|could|need to)|i(?: would|'d) (?:recommend|suggest)(?: that you)?)"
    r" (?:contact(?:ing)?|consult(?:ing)?|reach(?:ing)? out to|speak(?:ing)? (?:to|with)|ask(?:ing)?) (?:a |an |"
    r"your |our |the )?(?:\w+ )?(?:professional|doctor|physician|lawyer|attorney|specialist|advisor|support|"
    r"customer service|healthcare provider|pharmacist)",
    r"\b(?:that|this|your)(?: question| request| topic)?(?:'s| is| falls| lies) (?:outside|beyond) (?:of )?(?:my|the)"
    r" (?:scope|area|expertise|capabilities|remit)",
    r"\bi can only (?:help|assist|answer(?: questions)?|provide information) (?:with|about|on|regarding|related to)\b",
    # German
    r"\b(?:bitte )?wenden sie sich (?:bitte )?an\b",
    r"\bbitte (?:kontaktieren|kontaktiere|kontaktiert) sie\b",
    r"\b(?:das|dies|diese frage|ihre frage) (?:liegt|fällt) (?:leider )?außerhalb\b",
    r"\bich kann (?:leider )?(?:nur|ausschließlich) (?:fragen )?(?:zu|über|bei)\b",
    # French
    r"\bveuillez (?:contacter|vous adresser à|joindre|consulter)\b",
    r"\b(?:cela|ceci|cette question|votre question) (?:sort|dépasse|est en dehors|ne relève pas) (?:du cadre|de mes|"
    r"de mon|de ma)\b",
    r"\bje (?:vous )?(?:recommande|conseille|suggère) de (?:contacter|consulter|vous adresser)\b",
    # Spanish
    r"\bpor favor,? (?:contacte|contacta|comuníquese|comunícate|póngase en contacto|ponte en contacto|llame|"
    r"consulte)\b",
    r"\b(?:eso|esto|esa pregunta|su pregunta|tu pregunta) (?:está|queda) fuera de (?:mi|mis|el|mi ámbito)\b",
    r"\b(?:le|te) (?:recomiendo|sugiero) (?:que )?(?:contacte|contactes|consulte|consultes|se ponga en contacto)\b",
    # Italian
    r"\b(?:la prego di|ti prego di|si prega di|per favore,?) (?:contatt\w+|rivolg\w+)\b",
    # Portuguese
    r"\b(?:por favor,? )?(?:entre em contato|entre em contacto|contacte|contate) (?:com )?(?:o |a |os |as |nosso |"
    r"nossa )?(?:suporte|serviço|equipe|equipa|apoio|atendimento)",
)
REDIRECTION = _any(*REDIRECTION_RULES)
# Words one of which every match of the three sets above contains, in the lowered text with apostrophes made ':
# an answer whose opening holds none of them is answered without running the regexes (one search for a batch's
# answers, where the regexes took 8 us per chat span). Gates must be weaker than the rules:
# tests/processors/evals/test_builtins.py generates matches of every rule from its regex and checks each holds one.
FAILURE_GATES = (
    # English
    "can't", "cannot", "can not", "won't", "will not",
    "not able", "unable", "not allowed", "not permitted", "not authori",
    "decline", "as an ai", "not something i",
    "do not know", "don't know", "do not have", "don't have",
    "able to find", "couldn't find", "could not find", "can't find", "cannot find",
    "context", "document", "source", "information provided", "no information", "no answer",
    "please contact", "please reach out", "please call", "please email", "please get in touch", "please consult",
    "please speak",
    " contact", " consult", " reach", " speak", " ask",
    "outside", "beyond", "i can only",
    # German
    "ich kann", "kann ich", "in der lage", "ich darf", "ich weiß", "keine", "wenden sie sich", "kontaktier",
    "außerhalb",
    # French
    "je ne peux", "je ne pourrai", "je ne saurais", "en mesure de", "impossible", "refuser", "décliner",
    "sais pas", "je n'ai pas", "aucune", "je ne dispose pas", "veuillez", "sort ", "dépasse", "en dehors",
    "ne relève pas", "recommande", "conseille", "suggère",
    # Spanish
    "no puedo", "no podré", "no estoy en", "no me es posible", "debo", "no sé", "no lo sé", "no tengo",
    "no dispongo", "encontrar", "por favor", "fuera de", "recomiendo", "sugiero",
    # Italian
    "non posso", "non potrò", "in grado di", "non lo so", "non ho", "non dispongo", "contatt", "rivolg",
    # Portuguese
    "não posso", "não poderei", "capaz de", "em condições de", "não sei", "não tenho", "não disponho",
    "em contat", "em contact", "contacte", "contate",
)  # fmt: skip
FAILURE_GATE_WORDS = Words(FAILURE_GATES, release_gil=True)  # a batch's openings in one call (present_in_each)
# A sentence that only greets, thanks or apologizes: skipped when looking for the answer's opening.
PLEASANTRY = _any(
    r"^(?:hi|hello|hey|dear [\w ]+|greetings|good (?:morning|afternoon|evening)|hallo|guten tag|bonjour|salut|hola|"
    r"buenos días|buongiorno|ciao|olá|bom dia)\b[^.!?]{0,60}[.!?,]*$",
    r"^(?:thanks?|thank you|many thanks|danke|vielen dank|merci|gracias|grazie|obrigad[oa])\b[^.!?]{0,80}[.!?]*$",
    r"^(?:(?:i'm|i am|we're|we are) )?(?:so |very |really |truly )?sorry(?: to hear| about| for)?\b[^.!?]{0,80}[.!?]*$",
    r"^(?:es tut mir leid|je suis désolée?|lo siento|mi dispiace|lamento)\b[^.!?]{0,80}[.!?]*$",
    r"^(?:great question|good question|sure|of course|certainly|absolutely)[.!?,]*$",
)
# Finish reasons that mean the provider filtered the answer (OpenAI, Gemini, Anthropic's stop reason).
FILTERED_FINISH_REASONS = frozenset({"content_filter", "safety", "refusal", "prohibited_content", "blocklist", "spii"})

# --- prompt injection ----------------------------------------------------------------------------------------------
# (category, rule id, pattern). Categories are the evaluation's categorical values.
_OVERRIDE_VERBS_EN = (
    r"(?:ignore|disregard|skip|forget|neglect|overlook|omit|bypass|override|pay no attention to|do not follow|"
    r"don't follow|do not obey|don't obey|stop following)"
)
_QUALIFIER_EN = (
    r"(?:previous|prior|preceding|above|earlier|initial|original|foregoing|former|system|developer|hidden|default)"
)
# A qualifier is required: "ignore the instructions on the box" is not an attack, "ignore all/your/the previous
# instructions" is.
_BEFORE_EN = (
    rf"(?:(?:all|any|every|each) (?:of )?(?:the |your |these |those )?(?:{_QUALIFIER_EN} )*"
    rf"|(?:the |these |those )?(?:{_QUALIFIER_EN} )+|your (?:{_QUALIFIER_EN} )*)"
)
_RULES_EN = (
    r"(?:instructions?|directives?|rules|guidelines|guardrails|constraints|restrictions|system prompt|prompts?|"
    r"programming|policies|policy|safety (?:rules|guidelines|filters?))"
)
# "ignore the previous instructions I gave you" is the user updating their own request, not an attack.
_NOT_OWN = r"(?! (?:i|we) (?:gave|sent|wrote|provided|mentioned|typed|made))"
INJECTION_RULES: tuple[tuple[str, str, str], ...] = (
    # [REBUFF] [VIGIL instruction_bypass] [OWASP]: override what the app told the model.
    ("instruction_override", "override.en", rf"\b{_OVERRIDE_VERBS_EN} {_BEFORE_EN}{_RULES_EN}\b{_NOT_OWN}"),
    (
        "instruction_override",
        "override.en.everything",
        r"\b(?:ignore|disregard|forget) (?:everything|all(?: of it)?|anything) (?:(?:you were|you've been|"
        r"you have been) (?:told|instructed|given)|(?:written |said |stated )?(?:above|before this|so far|previously))",
    ),
    (
        "instruction_override",
        "override.en.new",
        r"(?:^|[.!?]\s+)(?:your )?new (?:system )?(?:instructions|rules|directives)(?: are| follow)?\s*:|"
        r"\bfrom now on,? you (?:will|must|shall) (?:only )?(?:obey|follow|answer as|act as|respond as)",
    ),
    # German, French, Spanish, Italian, Portuguese renderings of the same override [REBUFF, translated].
    (
        "instruction_override",
        "override.de",
        r"\b(?:ignorier(?:e|en sie)?|vergiss|vergessen sie|missachte|missachten sie|überspring(?:e|en sie)?)\s+"
        r"(?:alle\s+(?:(?:deine|ihre|die|bisherigen|vorherigen|obigen)\s+)?|(?:die\s+|deine\s+|ihre\s+)?"
        r"(?:vorherigen|bisherigen|obigen|vorigen|früheren|ursprünglichen)\s+|(?:deine|ihre)\s+)(?:system)?"
        r"(?:anweisungen|instruktionen|regeln|vorgaben|richtlinien|prompt)\b",
    ),
    (
        "instruction_override",
        "override.fr",
        r"\b(?:ignore[rz]?|oublie[rz]?|ne (?:tiens|tenez) pas compte d(?:es|e))\s+(?:(?:toutes?|tous)\s+"
        r"(?:les |vos |tes )?(?:instructions|consignes|règles|directives)|(?:les |vos |tes )?(?:instructions|consignes|"
        r"règles|directives) (?:précédentes|antérieures|ci-dessus|initiales|d'origine|du système))",
    ),
    (
        "instruction_override",
        "override.es",
        r"\b(?:ignora|ignore|olvida|olvide|omite|omita)\s+(?:todas (?:las |tus |sus )?(?:instrucciones|indicaciones|"
        r"reglas|directrices|normas)|(?:las |tus |sus )?(?:instrucciones|indicaciones|reglas|directrices|normas) "
        r"(?:anteriores|previas|de arriba|iniciales|del sistema))",
    ),
    (
        "instruction_override",
        "override.it",
        r"\b(?:ignora|ignori|dimentica|dimentichi)\s+(?:tutte (?:le )?(?:istruzioni|regole|direttive|indicazioni)|"
        r"(?:le )?(?:istruzioni|regole|direttive|indicazioni) (?:precedenti|di sopra|iniziali|del sistema))",
    ),
    (
        "instruction_override",
        "override.pt",
        r"\b(?:ignore|ignora|esqueça|esquece|desconsidere)\s+(?:todas (?:as )?(?:instruções|regras|diretrizes|"
        r"orientações)|(?:as )?(?:instruções|regras|diretrizes|orientações) (?:anteriores|prévias|acima|iniciais|"
        r"do sistema))",
    ),
    # [OWASP] system-prompt extraction.
    (
        "prompt_leak",
        "leak.en",
        r"\b(?:reveal|show|print|repeat|output|display|leak|dump|tell me|give me|write out|spell out|recite) (?:me )?"
        r"(?:all |the )?(?:of )?(?:your|the full|your full|your entire|your original|your initial|your hidden|"
        r"your secret) (?:system |initial |original |hidden |secret )?(?:prompt|instructions|rules|guidelines)\b",
    ),
    (
        "prompt_leak",
        "leak.en.above",
        r"\b(?:repeat|print|output|recite) (?:the |all )?(?:words|text|everything|instructions) (?:above|before this)"
        r"(?: verbatim| word for word| starting with)?",
    ),
    (
        "prompt_leak",
        "leak.en.question",
        r"\bwhat (?:is|are|were) your (?:system prompt|initial instructions|original instructions|hidden instructions|"
        r"system instructions)\b",
    ),
    # [DAN] [OWASP] persona jailbreaks.
    ("jailbreak", "dan", r"\bdo anything now\b"),
    (
        "jailbreak",
        "mode",
        r"\b(?:developer|god|jailbreak|dan|unrestricted|unfiltered|uncensored|evil) mode (?:is )?"
        r"(?:enabled|activated|on)\b|\benable (?:developer|god|jailbreak|dan) mode\b",
    ),
    (
        "jailbreak",
        "no_limits",
        r"\b(?:you are|you're|act as|pretend (?:to be|you are|you're)|roleplay as|imagine you are) (?:now )?(?:an? )?"
        r"(?:ai |assistant |model |chatbot )?(?:(?:without (?:any )?|with no |with zero )(?:restrictions|limits|"
        r"limitations|rules|filters|guidelines|ethics|censorship)|(?:unrestricted|unfiltered|uncensored|jailbroken|"
        r"amoral)\b)",
    ),
    (
        "jailbreak",
        "no_limits.free",
        r"\b(?:you are|you're) (?:now )?free (?:from|of) (?:all |any |your )?(?:restrictions|rules|guidelines|"
        r"filters|limitations|policies)\b",
    ),
    (
        "jailbreak",
        "disable_safety",
        r"\b(?:disable|turn off|deactivate|remove|bypass) (?:all |any |your )?(?:safety|content|moderation|ethical)"
        r" (?:filters?|guidelines|guardrails|restrictions|protocols|checks)\b",
    ),
    # [TEMPLATES] [VIGIL system_instructions]: chat-template tokens and fake role headers.
    (
        "template_injection",
        "template.tokens",
        r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>|<\|start_header_id\|>|<\|eot_id\|>|<\|system\|>|"
        r"<start_of_turn>|\[/?inst\]|<</?sys>>|\{\{#system~\}\}",
    ),
    (
        "template_injection",
        "template.role",
        r"\[system\]\(#(?:assistant|context|instructions)\)|^\s*#{2,}\s*(?:system|developer) (?:prompt|message|"
        r"instructions?)\s*:?\s*$",
    ),
)
# Rules matched on the original text, because case carries the meaning: "DAN" the jailbreak persona, not Dan.
CASED_RULES: tuple[tuple[str, str, str], ...] = (
    ("jailbreak", "dan.persona", r"\b(?:[Yy]ou are|[Yy]ou're|[Aa]ct as|[Pp]retend to be|[Bb]ecome) (?:now )?DAN\b"),
)
# Per rule, words one of which every match contains (a rule runs only on a text that has one: a substring test is
# far cheaper than the regex). Gates must be weaker than their rule: tests/processors/evals generate matches of
# every rule from its regex and check each contains a gate word.
GATES: dict[str, tuple[str, ...]] = {
    "override.en": (
        "ignor",
        "disregard",
        "skip",
        "forget",
        "neglect",
        "overlook",
        "omit",
        "bypass",
        "override",
        "pay no attention",
        "follow",
        "obey",
    ),
    "override.en.everything": ("ignor", "disregard", "forget"),
    "override.en.new": ("instruction", "rules", "directive", "from now on"),
    "override.de": ("ignor", "verg", "missacht", "überspring"),
    "override.fr": ("ignor", "oublie", "tiens", "tenez"),
    "override.es": ("ignor", "olvid", "omit"),
    "override.it": ("ignor", "dimentic"),
    "override.pt": ("ignor", "esque", "desconsidere"),
    "leak.en": ("prompt", "instruction", "rules", "guideline"),
    "leak.en.above": ("above", "before this"),
    "leak.en.question": ("system prompt", "instruction"),
    "dan": ("do anything now",),
    "mode": (" mode",),
    "no_limits": ("restrict", "limit", "rules", "filter", "guideline", "ethic", "censor", "jailbroken", "amoral"),
    "no_limits.free": ("free from", "free of"),
    "disable_safety": ("filter", "guideline", "guardrail", "restrict", "protocol", "checks"),
    "template.tokens": ("<|", "<start_of_turn>", "inst]", "sys>>", "{{#system"),
    "template.role": ("[system](#", "##"),
    "dan.persona": ("DAN",),
}
# Looked for once per text, in one pass (Aho-Corasick): in the lowered text, except the cased rules' words (in
# the text as written).
GATE_WORDS = Words(word for rule, gate in GATES.items() if rule != "dan.persona" for word in gate)
GATE_WORDS_TOGETHER = Words(GATE_WORDS.words, release_gil=True)  # a batch's texts in one call (present_in_each)
CASED_GATE_WORDS = GATES["dan.persona"]
INJECTION = tuple(
    (category, rule, re.compile(pattern, _F | re.MULTILINE), GATES[rule]) for category, rule, pattern in INJECTION_RULES
)
CASED = tuple(
    (category, rule, re.compile(pattern, _F | re.MULTILINE), GATES[rule]) for category, rule, pattern in CASED_RULES
)
INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\u00ad\ufeff"
INVISIBLE = dict.fromkeys(map(ord, INVISIBLE_CHARS), None)
