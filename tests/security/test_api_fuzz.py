"""docs/security.md §8: the API fuzzed from its own OpenAPI schema (/api/v1/schema/) with schemathesis.

Every operation gets bounded generated requests (valid and invalid parameters) with a valid token of
an in-scope user, against the live server on loopback; each response must not be a 5xx and must conform
to the schema (status code, content type, body, headers). The data: a few triage items and flags in
North (the user's unit) and South (outside it).
"""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from engagement.services.tokens import api_token_create
from tests.security.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 40


@pytest.fixture
def api_key():
    world = build_world()
    return api_token_create(user=world.users["supervisor_a"], name="fuzzing")[1]


@pytest.fixture
def api_schema(client):
    """The schema as the app serves it (fetched in-process; generating it is slow on a busy machine)."""
    response = client.get("/api/v1/schema/", headers={"accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(json.loads(response.content))


def test_api_answers_every_generated_request_within_its_schema(api_schema, api_key, live_server):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 5, [operation.label for operation in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def fuzz(case):
            case.call_and_validate(base_url=live_server.url, headers={"Authorization": f"Token {api_key}"})

        fuzz()
