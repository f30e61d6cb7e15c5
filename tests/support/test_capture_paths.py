"""Per-path scripting of the capture server (``respond_to``, ``set_default_for``) over real sockets.

Order of answers for one request: its path's queue → its path's default → the global queue → the global default.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from .capture_server import CaptureServer


def _post(url: str, body: bytes = b"{}") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture
def capture():
    with CaptureServer() as s:
        yield s


def test_path_queue_is_used_only_for_its_path_and_before_the_global_queue(capture):
    capture.respond_to("/a", [(503, {}, b"a1"), (429, {"Retry-After": "3"}, b"a2")])
    capture.respond_with([(500, {}, b"g1")])
    assert _post(capture.url + "/b")[0::2] == (500, b"g1")  # other paths use the global queue
    assert _post(capture.url + "/a?x=1")[0::2] == (503, b"a1")  # the query string is not part of the path
    status, headers, body = _post(capture.url + "/a")
    assert (status, headers["Retry-After"], body) == (429, "3", b"a2")
    assert _post(capture.url + "/a")[0::2] == (202, b"{}")  # queues empty: the global default
    assert [(r.path, r.response_status) for r in capture.requests] == [
        ("/b", 500),
        ("/a", 503),
        ("/a", 429),
        ("/a", 202),
    ]


def test_path_default_answers_once_its_queue_is_empty_and_wins_over_the_global_script(capture):
    capture.set_default(202, {}, b"global")
    capture.set_default_for("/eval", 400, {"X-Why": "no"}, "refused")
    capture.respond_to("/eval", [(503, {}, b"busy")])
    capture.respond_with([(500, {}, b"g1")])
    assert _post(capture.url + "/eval")[0::2] == (503, b"busy")
    status, headers, body = _post(capture.url + "/eval")
    assert (status, headers["X-Why"], body) == (400, "no", b"refused")
    assert _post(capture.url + "/eval")[0::2] == (400, b"refused")  # a default is not consumed
    assert _post(capture.url + "/spans")[0::2] == (500, b"g1")  # the global queue was left for other paths
    assert _post(capture.url + "/spans")[0::2] == (202, b"global")


def test_path_default_can_be_delayed(capture):
    capture.set_default_for("/slow", 200, {}, b"late", delay=0.3)
    started = time.monotonic()
    assert _post(capture.url + "/slow")[0::2] == (200, b"late")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert _post(capture.url + "/fast")[0] == 202
    assert time.monotonic() - started < 0.3


def test_clear_forgets_path_queues_but_keeps_path_defaults(capture):
    capture.respond_to("/a", [(503, {}, b"")])
    capture.set_default_for("/a", 204)
    capture.clear()
    assert _post(capture.url + "/a")[0] == 204
    assert [r.response_status for r in capture.requests] == [204]


def test_without_per_path_scripting_behaviour_is_unchanged(capture):
    capture.respond_with([(429, {}, b"")])
    assert _post(capture.url + "/anything")[0] == 429
    assert _post(capture.url + "/anything")[0] == 202
