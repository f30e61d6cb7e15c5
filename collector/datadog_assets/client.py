"""The Datadog API calls ``plan`` and ``apply`` need, through datadog-api-client, with every failure turned into
one line that says what to fix (a missing key names its variable; 403 names the keys and the site)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.model_utils import validate_and_convert_types
from datadog_api_client.v1.api.dashboards_api import DashboardsApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

REQUEST_TIMEOUT_S = 30
PAGE_SIZE = 100


class UsageError(Exception):
    """The command cannot start as given (a missing key variable); exit code 2."""


class ApiError(Exception):
    """The API refused or could not be reached; one line, exit code 1."""


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str
    app_key: str


def connection_from_env(api_url: str | None, env: Mapping[str, str] = os.environ) -> Connection:
    """Keys from DD_API_KEY and DD_APP_KEY, the site from DD_SITE; ``api_url`` replaces the site's API URL."""
    missing = [name for name in ("DD_API_KEY", "DD_APP_KEY") if not env.get(name)]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} not set: export the API key (DD_API_KEY) and an application key "
            "(DD_APP_KEY) of the Datadog organisation (Organization Settings > API Keys / Application Keys)"
        )
    url = (api_url or f"https://api.{env.get('DD_SITE') or 'datadoghq.com'}").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--api-url {url!r}: give a URL starting with http:// or https://")
    return Connection(url, env["DD_API_KEY"], env["DD_APP_KEY"])


def _body(data: dict[str, Any], model: type) -> Any:
    return validate_and_convert_types(data, (model,), ["body"], True, True, configuration=Configuration())


class AssetsApi:
    """Dashboards and monitors of one organisation, as plain JSON dicts."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        configuration = Configuration(
            host=connection.url,
            api_key={"apiKeyAuth": connection.api_key, "appKeyAuth": connection.app_key},
            request_timeout=REQUEST_TIMEOUT_S,
        )
        self._client = ApiClient(configuration)
        logging.getLogger("urllib3").setLevel(logging.ERROR)  # its retry warnings would bury the one-line error
        self._dashboards = DashboardsApi(self._client)
        self._monitors = MonitorsApi(self._client)

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        try:
            yield
        except ApiException as exc:
            url = self.connection.url
            if exc.status in (401, 403):
                raise ApiError(
                    f"{url} answered {exc.status} to {what}: check DD_API_KEY, DD_APP_KEY (it needs the dashboards "
                    "and monitors read/write scopes) and DD_SITE"
                ) from None
            if exc.status == 0:  # the client's own wrapping of TLS and protocol errors
                raise ApiError(f"cannot reach {url} ({what}): {exc.reason}") from None
            detail = exc.body.get("errors") if isinstance(exc.body, dict) else exc.body
            raise ApiError(f"{url} answered {exc.status} {exc.reason} to {what}: {detail}") from None
        except urllib3.exceptions.HTTPError as exc:
            reason = str(getattr(exc, "reason", None) or exc).split("): ", 1)[-1]  # drop the pool's repr
            raise ApiError(f"cannot reach {self.connection.url} ({what}): {reason}") from None

    def list_dashboards(self) -> list[dict[str, Any]]:
        with self._call("listing dashboards"):
            return [d.to_dict() for d in self._dashboards.list_dashboards_with_pagination(count=PAGE_SIZE)]

    def get_dashboard(self, dashboard_id: str) -> dict[str, Any]:
        with self._call(f"reading dashboard {dashboard_id}"):
            return self._dashboards.get_dashboard(dashboard_id).to_dict()

    def create_dashboard(self, body: dict[str, Any]) -> str:
        with self._call(f"creating dashboard {body['title']!r}"):
            return str(self._dashboards.create_dashboard(_body(body, Dashboard)).id)

    def update_dashboard(self, dashboard_id: str, body: dict[str, Any]) -> None:
        with self._call(f"updating dashboard {dashboard_id}"):
            self._dashboards.update_dashboard(dashboard_id, _body(body, Dashboard))

    def delete_dashboard(self, dashboard_id: str) -> None:
        with self._call(f"deleting dashboard {dashboard_id}"):
            self._dashboards.delete_dashboard(dashboard_id)

    def list_monitors(self) -> list[dict[str, Any]]:
        with self._call("listing monitors"):
            return [m.to_dict() for m in self._monitors.list_monitors_with_pagination(page_size=PAGE_SIZE)]

    def create_monitor(self, body: dict[str, Any]) -> str:
        with self._call(f"creating monitor {body['name']!r}"):
            return str(self._monitors.create_monitor(_body(body, Monitor)).id)

    def update_monitor(self, monitor_id: str, body: dict[str, Any]) -> None:
        with self._call(f"updating monitor {monitor_id}"):
            self._monitors.update_monitor(int(monitor_id), _body(body, MonitorUpdateRequest))

    def delete_monitor(self, monitor_id: str) -> None:
        with self._call(f"deleting monitor {monitor_id}"):
            self._monitors.delete_monitor(int(monitor_id))
