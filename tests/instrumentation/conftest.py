"""The wiring tests' fixtures: the fake OpenAI server and a real relay."""

from tests.wiring.conftest import fake_openai, relay  # noqa: F401 — fixtures, used by name
