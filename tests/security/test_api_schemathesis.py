"""Schemathesis against the app's own OpenAPI document, in-process over WSGI: every operation,
with a key of each ability, positive and negative examples. No 5xx, every response matches the
documented schema, status code, content type and headers, and invalid input is rejected.

Bounded for CI: EXAMPLES per operation; the examples take turns with the three keys, so each
ability sees a third of them.
(Schemathesis's own pytest plugin trips over pytest 9's node ids, so the operations are
parametrized here and each one runs its strategy under a local @given.)"""
import itertools
import random

import pytest
from flask import request
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.core.failures import FailureGroup

from sureapp import keyed_app
from tests.conftest import make_test_app

from .conftest import key_headers

EXAMPLES = 10  # per operation, positive and negative mixed
ABILITIES = ("read", "read_write", "all")


def _openapi_document() -> dict:
    """The document as the app serves it (no database needed for this route)."""
    return make_test_app("sqlite://").test_client().get("/api/v1/openapi.json").get_json()


# Collected once for parametrization; each test loads the schema from its own app (WSGI).
OPERATIONS = sorted(result.ok().label for result in
                    schemathesis.openapi.from_dict(_openapi_document()).get_all_operations())


@pytest.fixture
def app_config():
    # The limits have their own tests; here they'd only turn examples into 429s.
    return {"API_RATE_LIMIT": "1000000 per minute", "API_AUTH_FAILURE_LIMIT": "1000000 per minute"}


def test_every_documented_operation_is_fuzzed():
    labels = set(OPERATIONS)
    assert len(labels) >= 35, labels
    assert {"GET /contacts", "POST /contacts/bulk", "DELETE /tags/{tag_id}"} <= labels


def aim_at_real_resources(case, seeded_ids, rng):
    """Half the time a valid case's path id names a resource that exists, so 200/204/409 paths
    are exercised too, not only 404s for random UUIDs."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return  # a negative case's invalid id must stay invalid
    for name in list(case.path_parameters or {}):
        if name in seeded_ids and rng.random() < 0.5:
            case.path_parameters[name] = seeded_ids[name]


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_matches_its_openapi_document(app, api_keys, seeded_ids, label):
    method, path = label.split(" ", 1)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Keys are ours to send; generated credential headers would only test header parsing,
    # which test_key_parser_fuzz covers far more thoroughly.
    schema.config.generation.update(with_security_parameters=False)
    operation = schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    turns = itertools.cycle(ABILITIES)
    used, last = set(), []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def check(case):
        aim_at_real_resources(case, seeded_ids, random.Random(repr(case.path_parameters)))
        ability = next(turns)
        used.add(ability)
        last[:] = [case]
        call_and_validate(case, api_keys[ability])

    check()
    # An operation without parameters has a single distinct example: give it every key too.
    for ability in set(ABILITIES) - used:
        call_and_validate(last[0], api_keys[ability])


def call_and_validate(case, key: str):
    # positive_data_acceptance wants 2xx for valid input; a read-only key, a random id or a
    # duplicate email rightly answer 403/404/409 (documented, and checked as such).
    excluded = [positive_data_acceptance]
    if case.operation.label == "POST /contacts/bulk":
        # Documented partial success (SPEC §3): an invalid row is reported as "failed" in a 200
        # while the valid rows are applied, so a schema-violating row is not a 4xx.
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers=key_headers(key), excluded_checks=excluded)


def test_the_harness_catches_an_undocumented_status(app, api_keys):
    """Control: a response with a status its operation doesn't document fails the run."""
    @keyed_app(app).after_request  # the app serving /api
    def teapot(response):
        if request.path == "/api/v1/me":
            response.status_code = 418
        return response

    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)["/me"]["GET"]
    with pytest.raises(FailureGroup, match="Undocumented status code"):
        call_and_validate(operation.Case(), api_keys["read"])
