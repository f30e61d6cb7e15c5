"""The repository stands alone: no file may point at data outside the clone.

Tests read their captures and schemas from ``tests/testdata``. A reference to a directory beside the
repository, or to a path on one particular machine, works on that machine only and breaks a fresh clone.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What points outside the clone: the old sibling directory (and its subfolders), the variable that located it,
# and absolute paths on the development machine. Built from parts, so that this file holds none of them and is
# scanned like every other.
_SIBLING = "shared"
FORBIDDEN = (
    f"../{_SIBLING}",
    f"{_SIBLING}/fixtures",
    f"{_SIBLING}/schemas",
    f"{_SIBLING}/research",
    f"GLASSBOX_{_SIBLING.upper()}",
    "/" + "work/",
)

SKIPPED = ("tests/testdata/",)  # byte-identical captures and their docs: never edited, so never scanned


def repo_files() -> list[str]:
    """Tracked files plus new ones not yet added (ignored files excluded), relative to the repository; outside a
    git checkout (an unpacked source archive), every file but virtualenvs and caches."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
        return sorted({name for name in out.decode().split("\0") if name})
    except (OSError, subprocess.CalledProcessError):
        skip = (".venv", ".git", "__pycache__", ".pytest_cache", ".glassbox")
        return sorted(
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if p.is_file() and not any(part.startswith(skip) for part in p.relative_to(REPO).parts)
        )


def offending_lines(root: Path, names: list[str]) -> list[str]:
    """``path:line: text`` for every line of a text file under ``root`` that contains a forbidden pattern."""
    hits = []
    for name in names:
        if name.startswith(SKIPPED):
            continue
        path = root / name
        if not path.is_file():  # listed by git but deleted or moved in the work tree
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if any(pattern in line for pattern in FORBIDDEN):
                hits.append(f"{name}:{number}: {line.strip()}")
    return hits


def test_no_file_points_outside_the_repository():
    hits = offending_lines(REPO, repo_files())
    assert not hits, "files that reference data outside the repository:\n" + "\n".join(hits)


@pytest.mark.parametrize("pattern", FORBIDDEN)
def test_guard_finds_each_pattern(tmp_path, pattern):
    """The guard can fail: a text file holding a pattern is reported, binary and test data files are not."""
    (tmp_path / "tests" / "testdata").mkdir(parents=True)
    (tmp_path / "module.py").write_text(f'"""Docs."""\nDATA = "{pattern}/x"\n')
    (tmp_path / "blob.pb").write_bytes(b"\0\1" + pattern.encode())
    (tmp_path / "tests" / "testdata" / "README.md").write_text(pattern)
    (tmp_path / "clean.md").write_text("Schemas and captures live in tests/testdata; shared by every test.\n")
    names = ["module.py", "blob.pb", "tests/testdata/README.md", "clean.md", "gone.py"]
    assert offending_lines(tmp_path, names) == [f'module.py:2: DATA = "{pattern}/x"']
