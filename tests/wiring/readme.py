"""The README's runnable snippets: a fenced block right after a ``<!-- snippet: NAME -->`` line.

The wiring tests run these blocks as they are written, so what a user copies is what was tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^<!-- snippet: (?P<name>[a-z0-9-]+) -->\n```(?P<lang>\w+)\n(?P<text>.*?)^```$", re.M | re.S)
_MARKER = re.compile(r"<!-- snippet: ([^ ]*) -->")


@dataclass(frozen=True)
class Snippet:
    name: str
    lang: str
    text: str


def snippets(path: Path = README) -> dict[str, Snippet]:
    """Every marked block by name; a marker without its block, or a name used twice, is an error."""
    source = path.read_text()
    found: dict[str, Snippet] = {}
    for match in _BLOCK.finditer(source):
        name = match["name"]
        if name in found:
            raise ValueError(f"{path.name}: snippet {name!r} is marked twice")
        found[name] = Snippet(name, match["lang"], match["text"])
    markers = set(_MARKER.findall(source))
    if markers != set(found):
        raise ValueError(
            f"{path.name}: markers not followed by a fenced block: {sorted(markers - set(found))} "
            "(the ``` line must come right after the marker)"
        )
    return found
