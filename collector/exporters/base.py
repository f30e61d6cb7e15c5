"""What an exporter is, and the error vocabulary the shared sender understands.

An exporter renders a batch into items (synchronously, on the pipeline's path) and sends a list of items
(asynchronously, from its sender). Errors are data: ``PermanentError`` drops with a reason, ``RetryableError``
is retried with backoff, honouring ``retry_after``; ``remaining`` says which items still need sending when part
of a list already went out, so a retry never duplicates what the destination accepted.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Protocol

import aiohttp

from glassbox.processors.model import Batch


class PermanentError(Exception):
    def __init__(self, reason: str, message: str, remaining: list[Any] | None = None):
        super().__init__(message)
        self.reason = reason
        self.remaining = remaining


class RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None, remaining: list[Any] | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.remaining = remaining


class Exporter(Protocol):
    name: str

    def render(self, batch: Batch) -> list[Any]: ...

    async def send(self, items: list[Any]) -> None: ...

    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...


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


async def post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], timeout: float,
               what: str) -> None:
    """POST and classify the outcome: 2xx ok; 408/429/5xx/connection errors retryable; other 4xx permanent."""
    try:
        async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            detail = (await resp.content.read(512)).decode("utf-8", "replace").strip()
            if 200 <= resp.status < 300:
                return
            message = f"{what}: {url} answered {resp.status}" + (f": {detail}" if detail else "")
            if resp.status in (408, 429) or resp.status >= 500:
                raise RetryableError(message, retry_after_seconds(resp.headers.get("Retry-After")))
            raise PermanentError(f"http_{resp.status}", message)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise RetryableError(f"{what}: {url} unreachable: {type(exc).__name__}: {exc}") from None
