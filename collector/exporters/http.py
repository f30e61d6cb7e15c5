"""One POST with the outcome classified as exporters need it: 2xx ok; 408, 429, 5xx and connection errors
retryable (honouring ``Retry-After``); any other status permanent, with ``http_<status>`` as the reason."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Collection

import aiohttp

from glassbox.collector.errors import PermanentError, RetryableError


class HttpSession:
    """An exporter's connection pool: opened at ``start``, closed at ``shutdown``."""

    _session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "exporter not started"
        return self._session


def retry_after_seconds(header: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    what: str,
    *,
    accepted: Collection[int] = (),
    items: Collection[int] = (),
) -> None:
    """POST one body. On failure the error carries ``accepted`` (items the destination already took in earlier
    posts of this send) and, when permanent, ``refused=items`` (the items this body carried)."""
    try:
        async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            detail = (await resp.content.read(512)).decode("utf-8", "replace").strip()
            if 200 <= resp.status < 300:
                return
            message = f"{what}: {url} answered {resp.status}" + (f": {detail}" if detail else "")
            if resp.status in (408, 429) or resp.status >= 500:
                raise RetryableError(message, retry_after_seconds(resp.headers.get("Retry-After")), accepted)
            raise PermanentError(f"http_{resp.status}", message, accepted, refused=items)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise RetryableError(f"{what}: {url} unreachable: {type(exc).__name__}: {exc}", accepted=accepted) from None
