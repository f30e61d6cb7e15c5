"""Other ways to read a text, so PII written in a disguised form is found, and offsets back to the original.

Recognizers match ASCII: ``jane＠example.com``, ``４１１１ １１１１ …``, ``536\u2011 22\u200b-8741`` or
``jane%40example.com`` slip past them. The redactor analyses the original text, and also:

* ``normalize(text)``: one *view* of the whole text — NFKC, invisible characters (format characters such as
  zero-width spaces and joiners, soft hyphens, variation selectors; control characters such as the NULs of
  UTF-16 text read as UTF-8; combining marks on ASCII characters, ``4̶1̶1̶1̶``) removed, tabs and Unicode spaces
  made spaces, dashes made ASCII, decimal digits of every script made ASCII digits;
* ``decoded(text)``: *candidates* — URL-encoding, HTML character references and ``\\uXXXX``/``\\xXX`` escapes
  (decoded in place, a window around each decoded run, with offsets back), and base64 or hex runs that decode
  to text (only the whole run maps back). Decoding repeats (``%26%2364%3B`` → ``&#64;`` → ``@``) to a small
  bounded depth, and base64 text is itself searched for encodings.

Findings in a view map back to the original characters that produced them, so the ORIGINAL text is redacted
(an encoded run inside a finding is replaced with it). Pure Python, no Presidio: this runs on every analysed
text, so both functions return at once for the common case (ASCII text without escapes).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

DEPTH = 3  # decoding rounds: an encoding of an encoding of an encoding, no deeper
WINDOW = 128  # characters decoded and analysed on each side of a decoded run (a PII value and its context)
SNAP = 32  # a window edge moves up to this far outward to reach whitespace (no half tokens at the edge)
BASE64_MIN = 12  # shortest base64 run worth decoding: 9 bytes, a US SSN without dashes
PRINTABLE = 0.95  # share of printable characters a base64 decode needs to count as text

# Invisible characters that are not category Cf (which is removed as a whole): combining grapheme joiner,
# Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, variation selectors, the keycap.
_IGNORABLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0\u20e3"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)
# Zero-width joiner and presentation selectors: they glue emoji together (❤️, 👨‍👩‍👧). Removed like the other
# invisible characters, but on their own they only make a view when next to an ASCII character.
_GLUE = frozenset("\u200d\ufe0e\ufe0f")
_GLUE_AT_ASCII = re.compile(r"[\x00-\x7f][\u200d\ufe0e\ufe0f]|\u200d[\x00-\x7f]")
_DASHES = frozenset("\u2212\u2043\u2e3a\u2e3b")  # minus sign, hyphen bullet, two/three-em dash (besides Pd)


class OffsetMap:
    """View offsets → original offsets: view character ``i`` was produced by original ``[begin[i], end[i])``."""

    __slots__ = ("begin", "end", "size")

    def __init__(self, begin: list[int], end: list[int], size: int):
        self.begin = begin
        self.end = end
        self.size = size  # length of the original text

    def __call__(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering view ``[start, end)`` (characters removed inside it are inside it)."""
        if end > start:
            return self.begin[start], self.end[end - 1]
        point = self.begin[start] if start < len(self.begin) else self.size
        return point, point

    def window(self, start: int, end: int) -> OffsetMap:
        """The map of view ``[start, end)`` taken as a text of its own (original offsets unchanged)."""
        return OffsetMap(self.begin[start:end], self.end[start:end], self.size)

    def after(self, inner: OffsetMap) -> OffsetMap:
        """``inner`` maps a view of this view; the result maps it straight to this map's original."""
        begin, end = self.begin, self.end
        return OffsetMap([begin[b] for b in inner.begin], [end[e - 1] for e in inner.end], self.size)


class Candidate(NamedTuple):
    """Decoded text standing for original ``[start, end)``. ``to_original`` maps its offsets back exactly
    (in-place decodings); None means only the whole span is known (base64), so a finding covers all of it."""

    start: int
    end: int
    text: str
    to_original: OffsetMap | None = None


class _Builder:
    """Builds a view piece by piece with its offset map."""

    __slots__ = ("parts", "begin", "end")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.begin: list[int] = []
        self.end: list[int] = []

    def keep(self, text: str, i: int, j: int) -> None:
        if j > i:
            self.parts.append(text[i:j])
            self.begin.extend(range(i, j))
            self.end.extend(range(i + 1, j + 1))

    def put(self, out: str, i: int, j: int) -> None:
        """``out`` replaces original ``[i, j)`` (every character of it maps to the whole span)."""
        if out:
            self.parts.append(out)
            self.begin.extend([i] * len(out))
            self.end.extend([j] * len(out))

    def result(self, size: int) -> tuple[str, OffsetMap]:
        return "".join(self.parts), OffsetMap(self.begin, self.end, size)


# --- normalize ---------------------------------------------------------------------------------------------


def _fold(chars: str) -> str:
    """A cluster (a character and the marks after it) as the view shows it. Marks still on an ASCII character
    after NFKC (strike-through, underline, ...: nothing composes them) are decoration, and go."""
    out = []
    folded = unicodedata.normalize("NFKC", chars)
    on_ascii = folded[:1] < "\x80"
    for ch in folded:
        if ch < "\x80":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in ("Cf", "Cc") or ch in _IGNORABLE or (on_ascii and category[0] == "M"):
            continue
        if category[0] == "Z":
            out.append(" ")
        elif category == "Pd" or ch in _DASHES:
            out.append("-")
        elif category == "Nd":
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out)


_FOLDED: dict[str, str] = {}  # cluster → _fold(cluster); bounded by _FOLDED_MAX
_FOLDED_MAX = 65_536
_CHANGES: dict[str, bool] = {}  # non-ASCII character → whether _fold changes it by itself (finite: ≤ Unicode)


def _folded(cluster: str) -> str:
    out = _FOLDED.get(cluster)
    if out is None:
        out = _fold(cluster)
        if len(_FOLDED) < _FOLDED_MAX:
            _FOLDED[cluster] = out
    return out


def _changes(ch: str) -> bool:
    changed = _CHANGES.get(ch)
    if changed is None:
        changed = _CHANGES[ch] = _fold(ch) != ch
    return changed


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


_CONTROLS = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")  # tab: a space; the others: removed (one class:
# re scans a character class five times faster than an alternation, and this runs on every analysed text)


def normalize(text: str) -> tuple[str, OffsetMap] | None:
    """The normalized view of ``text`` and its offset map, or None when it would equal ``text``.

    NFKC is applied per cluster (a character and the combining marks after it), so every view character comes
    from one original cluster and a cluster-aligned slice of the original normalizes to the matching slice of
    the view. ASCII control characters are handled last, on that view."""
    view = _unicode(text)
    base = view[0] if view is not None else text
    if _CONTROLS.search(base) is None:
        return view
    b = _Builder()
    pos = 0
    for m in _CONTROLS.finditer(base):
        b.keep(base, pos, m.start())
        if m.group() == "\t":
            b.put(" ", m.start(), m.end())
        pos = m.end()  # (a removed character maps to nothing: the spans around it cover it)
    b.keep(base, pos, len(base))
    cleaned, inner = b.result(len(base))
    return cleaned, (view[1].after(inner) if view is not None else inner)


def _marks_on_ascii(text: str, chars: set[str]) -> bool:
    marks = [ch for ch in chars if ch >= "\x80" and _is_mark(ch)]
    return bool(marks) and re.search("[\x00-\x7f][" + re.escape("".join(marks)) + "]", text) is not None


def _unicode(text: str) -> tuple[str, OffsetMap] | None:
    """The Unicode part of ``normalize`` (everything but ASCII control characters)."""
    if text.isascii():
        return None
    if unicodedata.is_normalized("NFKC", text):
        chars = set(text)
        changed = [ch for ch in chars if ch >= "\x80" and _changes(ch)]
        if not changed and not _marks_on_ascii(text, chars):
            return None
        if changed and _GLUE.issuperset(changed) and _GLUE_AT_ASCII.search(text) is None:
            if not _marks_on_ascii(text, chars):
                return None  # (emoji glue between emoji hides nothing: ❤️ and 👨‍👩‍👧 leave the text as it is)
    b = _Builder()
    pos = 0
    for m in _NON_ASCII.finditer(text):
        i, j = m.span()
        if i > pos and _is_mark(text[i]):
            i -= 1  # a mark after an ASCII letter belongs to it (e + U+0301 → é)
        b.keep(text, pos, i)
        k = i
        while k < j:
            e = k + 1
            while e < j and _is_mark(text[e]):
                e += 1
            cluster = text[k:e]
            out = _folded(cluster)
            if out == cluster:
                b.keep(text, k, e)
            else:
                b.put(out, k, e)
            k = e
        pos = j
    b.keep(text, pos, len(text))
    view, offsets = b.result(len(text))
    return None if view == text else (view, offsets)


# --- decoded -----------------------------------------------------------------------------------------------

_ESCAPE = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?)"
    r"|(?P<esc>(?:\\(?:u\{[0-9A-Fa-f]{1,6}\}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}))+)"
)
_ESCAPE_UNIT = re.compile(r"\\(?:u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2}))")
_BASE64 = re.compile(rf"[A-Za-z0-9+/_-]{{{BASE64_MIN},}}={{0,2}}")
# A decoded character next to one of these can be part of a value (a space or dash between digit groups, a
# dot in an address); other ASCII punctuation decoded from an escape (&amp; &quot; %2F ...) cannot.
_SEPARATORS = frozenset(" -._:()")


def _utf8(data: bytes) -> list[tuple[str, int, int]]:
    """Characters of ``data`` with their byte spans: UTF-8 where it is valid, else one character per byte."""
    out = []
    i = 0
    while i < len(data):
        lead = data[i]
        size = 1 if lead < 0x80 else 2 if 0xC2 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4
        if lead >= 0xF5:
            size = 1
        try:
            ch = data[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            ch, size = chr(lead), 1
        out.append((ch, i, i + size))
        i += size
    return out


def _percent(b: _Builder, text: str, i: int, j: int) -> None:
    data = bytes.fromhex(text[i:j].replace("%", ""))
    for ch, s, e in _utf8(data):
        b.put(ch, i + 3 * s, i + 3 * e)


def _entity(b: _Builder, text: str, i: int, j: int) -> None:
    out = html.unescape(text[i:j])
    if out == text[i:j]:
        b.keep(text, i, j)
    else:
        b.put(out, i, j)


def _escapes(b: _Builder, text: str, i: int, j: int) -> None:
    units = []  # (code, start, end, is_byte)
    for m in _ESCAPE_UNIT.finditer(text, i, j):
        brace, u4, u8, x2 = m.groups()
        units.append((int(brace or u4 or u8 or x2, 16), m.start(), m.end(), x2 is not None))
    k = 0
    while k < len(units):
        code, s, e, is_byte = units[k]
        if is_byte:  # a run of \xXX: UTF-8 bytes if they decode, else code points (Python's '\xe9')
            n = k
            while n < len(units) and units[n][3]:
                n += 1
            group = units[k:n]
            for ch, i, j in _utf8(bytes(u[0] for u in group)):
                b.put(ch, group[i][1], group[j - 1][2])
            k = n
            continue
        if 0xD800 <= code < 0xDC00 and k + 1 < len(units) and 0xDC00 <= units[k + 1][0] < 0xE000:
            low = units[k + 1][0]
            b.put(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), s, units[k + 1][2])
            k += 2
            continue
        if code > 0x10FFFF or 0xD800 <= code < 0xE000:
            b.keep(text, s, e)  # not a character: left as written
        else:
            b.put(chr(code), s, e)
        k += 1


def _unescape(text: str) -> tuple[str, OffsetMap] | None:
    """One round of in-place decoding (URL, HTML, backslash escapes), or None if there was nothing to decode."""
    b = _Builder()
    pos = 0
    for m in _ESCAPE.finditer(text):
        i, j = m.span()
        b.keep(text, pos, i)
        kind = m.lastgroup
        (_percent if kind == "pct" else _entity if kind == "ent" else _escapes)(b, text, i, j)
        pos = j
    if not pos:
        return None
    b.keep(text, pos, len(text))
    view, offsets = b.result(len(text))
    return None if view == text else (view, offsets)


def _hinted(text: str) -> bool:
    return "%" in text or "&" in text or "\\" in text


def unescaped(text: str, depth: int = DEPTH) -> tuple[str, OffsetMap] | None:
    """``text`` with URL-encoding, HTML references and backslash escapes decoded in place, ``depth`` rounds at
    most, and its offset map; None if nothing decodes."""
    if not _hinted(text):
        return None
    result = _unescape(text)
    if result is None:
        return None
    view, offsets = result
    for _ in range(depth - 1):
        if not _hinted(view):
            break
        again = _unescape(view)
        if again is None:
            break
        view, offsets = again[0], offsets.after(again[1])
    return view, offsets


def _relevant(view: str, i: int) -> bool:
    """Whether decoded character ``view[i]`` could be part of a value (not markup punctuation)."""
    ch = view[i]
    if ch.isalnum() or ch in "@+" or (ch >= "\x80" and not ch.isspace()):
        return True
    if ch in _SEPARATORS or ch.isspace():
        return (i > 0 and view[i - 1].isalnum()) or (i + 1 < len(view) and view[i + 1].isalnum())
    return False


def _snap_left(view: str, i: int) -> int:
    for k in range(i, max(0, i - SNAP) - 1, -1):
        if k == 0 or view[k - 1].isspace():
            return k
    return i


def _snap_right(view: str, j: int) -> int:
    for k in range(j, min(len(view), j + SNAP) + 1):
        if k == len(view) or view[k].isspace():
            return k
    return j


def _windows(view: str, offsets: OffsetMap) -> list[tuple[int, int]]:
    """View spans around the relevant decoded characters, merged."""
    begin, end = offsets.begin, offsets.end
    out: list[tuple[int, int]] = []
    for i in range(len(view)):
        if end[i] - begin[i] > 1 and _relevant(view, i):  # decoded: produced by a multi-character escape
            lo, hi = max(0, i - WINDOW), min(len(view), i + 1 + WINDOW)
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
    return [(_snap_left(view, lo), _snap_right(view, hi)) for lo, hi in out]


def _base64(run: str) -> str | None:
    """The text a base64 run (standard or URL-safe alphabet, padding optional) or a hex run decodes to, or
    None."""
    body = run.rstrip("=")
    if len(body) % 2 == 0 and _HEX.fullmatch(body):  # (digits only too: the hex of "4111" is "34313131")
        try:
            text = _texty(bytes.fromhex(body).decode("utf-8"))
        except ValueError:
            text = None
        if text is not None:
            return text  # (otherwise: hex digits are base64 letters too, so try that)
    if body.isdigit() or len(body) % 4 == 1 or (("-" in body or "_" in body) and ("+" in body or "/" in body)):
        return None
    try:
        data = base64.b64decode(body.translate(_URLSAFE) + "=" * (-len(body) % 4), validate=True)
        decoded = data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return _texty(decoded)


_HEX = re.compile(r"[0-9a-fA-F]+")


def _texty(decoded: str) -> str | None:
    """``decoded`` if it reads as text (mostly printable, something alphanumeric), else None."""
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\t\n\r")
    if len(decoded) < 6 or printable < PRINTABLE * len(decoded) or not any(ch.isalnum() for ch in decoded):
        return None
    return decoded


_URLSAFE = str.maketrans("-_", "+/")


def decoded(text: str, depth: int = DEPTH) -> list[Candidate]:
    """Decoded candidates in ``text`` (original offsets), each to be analysed on its own; [] if none.

    In-place decodings give one candidate per window around the decoded runs (findings map back exactly);
    each base64 run that decodes to text gives one for the run, plus one per encoding found inside it."""
    out: list[Candidate] = []
    if depth <= 0:
        return out
    layers: list[tuple[str, Callable[[int, int], tuple[int, int]]]] = [(text, lambda s, e: (s, e))]
    view = unescaped(text, depth)
    if view is not None:
        view_text, offsets = view
        for lo, hi in _windows(view_text, offsets):
            start, end = offsets(lo, hi)
            out.append(Candidate(start, end, view_text[lo:hi], offsets.window(lo, hi)))
        layers.append((view_text, offsets))
    seen: set[tuple[int, int]] = set()
    for layer, to_original in layers:
        for m in _BASE64.finditer(layer):
            plain = _base64(m.group())
            if plain is None:
                continue
            start, end = to_original(*m.span())
            if (start, end) in seen:
                continue
            seen.add((start, end))
            out.append(Candidate(start, end, plain))
            out.extend(Candidate(start, end, inner.text) for inner in decoded(plain, depth - 1))
    return out
