"""Issue #4's reliability scenarios against a real relay process (``glassbox run``), real sockets on 127.0.0.1,
a capture server standing in for Datadog agentless, and the real OTel SDK exporters as clients.

The scenarios live in ``bench/reliability.py`` (``python -m bench.reliability`` prints the same numbers for
larger runs); these tests run each with a modest number of spans and assert nothing acknowledged is lost.
Run with ``-s`` to see the table.
"""

from __future__ import annotations

import pytest

from bench import reliability as R

pytestmark = pytest.mark.timeout(240)

RESULTS: list[R.Result] = []


@pytest.fixture(scope="module", autouse=True)
def table():
    yield
    if RESULTS:
        print("\n" + R.render_table(RESULTS))


def describe(result: R.Result) -> str:
    lines = [R.render_table([result]), f"reproduce: {result.command}", f"relay: {result.relay_command}"]
    lines += [f"error: {e}" for e in result.errors]
    lines += [f"{k}: {v}" for k, v in result.details.items() if k != "relay_logs_tail"]
    if "relay_logs_tail" in result.details:
        lines.append("relay log tail:\n" + result.details["relay_logs_tail"])
    return "\n".join(lines)


def check(result: R.Result, *, all_acknowledged: bool = True, duplicates: bool = False) -> None:
    RESULTS.append(result)
    print("\n" + describe(result))
    why = describe(result)
    assert not result.errors, why
    assert result.sent > 0 and result.acknowledged > 0, why
    if all_acknowledged:
        assert result.acknowledged == result.sent, why
    assert result.lost == 0, why
    if not duplicates:
        assert result.duplicated == 0, why


def test_outage_stand_in_down_then_up(tmp_path):
    result = R.outage(300, tmp_path)
    check(result)
    assert result.details["acknowledged_while_down"] > 0
    assert result.details["delivered_while_down"] == 0


def test_crash_kill_9_mid_load_then_restart(tmp_path):
    # Two kills: the second lands while the restarted relay re-sends what the first left behind.
    result = R.crash(500, tmp_path)
    check(result, all_acknowledged=False, duplicates=True)  # at-least-once: duplicates are counted, not failed
    kills = result.details["kills"]
    assert len(kills) == 2 and all(k["acknowledged_not_yet_delivered"] > 0 for k in kills), describe(result)


def test_crash_with_sync_normal(tmp_path):
    check(R.crash_sync_normal(300, tmp_path), all_acknowledged=False, duplicates=True)


def test_throttling_429_then_503_then_400_dead_letters_and_replay(tmp_path):
    result = R.throttling(300, tmp_path)
    check(result)
    details = result.details
    statuses = details["stand_in_statuses"]
    assert statuses[:2] == ["429", "503×2"] and len(statuses) == 3 and statuses[2].startswith("400"), statuses
    assert details["seconds_between_429_and_retry"] >= 0.95  # Retry-After: 1 honoured
    assert len(set(details["events_per_post"][:4])) == 1  # the same batch each time: retried whole
    assert details["dead_letters_listed"] == details["dead_letters_http_400"] == result.acknowledged
    assert details["deadletter_replay_output"] == f"moved {result.acknowledged} dead letter(s) back to their queues"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_full_queue_refuses_and_the_sdk_retries(tmp_path, transport):
    result = R.full_queue(300, tmp_path, transport)
    check(result)
    assert result.details["relay_refused_requests"] >= 1
    assert result.details["client_sdk_retries"] >= 1
    assert result.details["client_failed_batches"] == 0
    seen = "Too Many Requests" if transport == "http" else "StatusCode.UNAVAILABLE"  # what the SDK was answered
    assert any(seen in line for line in result.details["client_sdk_retry_log"]), result.details


def test_sigterm_under_load_drains(tmp_path):
    result = R.shutdown_drain(400, tmp_path)
    check(result, all_acknowledged=False)
    assert result.details["sigterm_exit"]["code"] == 0
    assert result.details["undelivered_at_exit"] == 0


def test_sigterm_with_intake_down_leaves_the_rest_on_disk(tmp_path):
    result = R.shutdown_on_disk(400, tmp_path)
    check(result, all_acknowledged=False)
    exit_ = result.details["sigterm_exit"]
    assert exit_["code"] == 0 and exit_["seconds"] < 20
    assert result.details["left_on_disk_logged"] >= result.details["undelivered_at_exit"] > 0
