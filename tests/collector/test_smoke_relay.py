"""The relay accepts a real capture over OTLP/HTTP and stores what Datadog would get."""

from tests.conftest import fixture_files, post_otlp, signal_of


async def test_ll_default_capture_reaches_local_store(make_relay):
    relay = await make_relay()
    for path in fixture_files("ll_default"):
        status, _, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
        assert status == 200
    assert await relay.flush()
    rows = relay.local_exporter.store.recent(100)
    assert [r["kind"] for r in rows].count("llm") == 7
    assert {r["kind"] for r in rows} == {"llm", "embedding"}
