"""Fixtures the wiring tests and the instrumentation tests (tests/instrumentation/conftest.py) share: the fake
OpenAI server and a real ``glassbox run`` relay storing what it gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from glassbox.collector.demo.fake_openai import FakeOpenAI
from tests.wiring.harness import Relay


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI.start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    relay = Relay(tmp_path)
    yield relay
    relay.stop()
