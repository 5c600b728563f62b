"""Schemathesis generates requests from the dashboard's own OpenAPI schema, valid and not, and sends
them to a live dashboard over HTTP, logged in as an admin (who may call everything): no request may
produce a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.live_dashboard import LiveDashboard, live_dashboard
from tests.service_harness import PASSWORD


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDashboard]:
    with live_dashboard(tmp_path_factory.mktemp("fuzz")) as live:
        yield live


@pytest.fixture(scope="module")
def cookie(dashboard: LiveDashboard) -> str:
    response = httpx.post(f"{dashboard.url}/api/login", json={"name": "admin", "password": PASSWORD})
    response.raise_for_status()
    return f"ecx_session={response.cookies['ecx_session']}"


def operations(dashboard: LiveDashboard) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{dashboard.url}/openapi.json")
    found = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in found if op.path != "/api/logout"]  # it would end the fuzzer's own login


# About 600 requests, 0.2 s each beside a CPU hog: 130-155 s for this test alone, and once over
# 300 s inside a loaded suite, every request within schemathesis's 10 s. The whole test gets time
# for that; a request that hangs still fails it, by name, after REQUEST_TIMEOUT_S.
REQUEST_TIMEOUT_S = 60


@pytest.mark.timeout(900)
def test_no_request_makes_a_server_error(dashboard: LiveDashboard, cookie: str) -> None:
    # Driven through Hypothesis directly: schemathesis's pytest plugin does not run on pytest 9 yet.
    checked = []
    for operation in operations(dashboard):

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            case.call_and_validate(
                headers={"Cookie": cookie}, checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S
            )

        fuzz()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 14, checked
