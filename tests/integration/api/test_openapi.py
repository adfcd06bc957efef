"""schemathesis against the OpenAPI document the real daemon serves: every operation, with a
read and a write token, on SQLite and on PostgreSQL; no 500, every answer as the document
says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case

from tests.support.api import READ_TOKEN, WRITE_TOKEN, ApiSite, api_site
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.slow

#: A schema-valid request may still name what the site refuses: a reply's leading #command
#: that does not apply is 422, as by mail. Every other check runs as schemathesis has it.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
            }
        }
    }
)
#: Examples per operation: enough to meet bad ids, odd text and every enum, in seconds.
EXAMPLES = 25


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiSite]:
    directory = tmp_path_factory.mktemp("openapi")
    if request.param == "sqlite":
        with api_site(directory) as running:
            yield running
        return
    with fresh_database() as url, api_site(directory, database=url) as running:
        yield running


def _check(operation: APIOperation) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        # Each generated request twice: a read token meets 403 where a write token acts.
        for token in (READ_TOKEN, WRITE_TOKEN):
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

    run()


def test_every_operation_answers_as_documented(site: ApiSite) -> None:
    served = schemathesis.openapi.from_url(
        f"{site.base}/api/v1/openapi.json",
        config=CONFIG,
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )
    operations = [result.ok() for result in served.get_all_operations()]
    assert len(operations) == 9
    for operation in operations:
        _check(operation)
    assert site.get("/healthz", token=None).status_code == 200
