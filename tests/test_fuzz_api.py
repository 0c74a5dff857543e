"""The JSON API fuzzed from its own OpenAPI description (schemathesis), in process.

Schemathesis takes the description the app serves at ``/api/openapi.json``,
generates requests from it, valid and invalid, sends them to the Flask app
(WSGI, no server), and checks every response: no 5xx, a documented status
code, content type and headers, a body that matches the documented schema,
invalid input refused, valid input accepted. Deterministic
(``derandomize=True``, no example database) and bounded (``max_examples``):
a few seconds, the same requests every run.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import ignored_auth

from searchsvc.web.openapi import openapi_document

from .builders import make_app

# The schema is loaded at import time, when no index exists yet, so it comes
# from the function that builds the served document (the first test checks
# that the app serves exactly this); the requests go to the `app` fixture.
# (schemathesis.pytest.from_fixture would load it from the app, but breaks on
# pytest 9.2: it sets `Function._nodeid`, which pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_dict(openapi_document())

#: Rules a JSON Schema of single parameters cannot state; the description
#: documents them as 400s ("a bad parameter; the message names it").
BEYOND_THE_SCHEMA = (
    "from must not be after to",  # a rule between two parameters
    "page is too deep",  # page × per_page past the 1,000 results that can be paged through
    "q is required",  # q of spaces only: the same as no q
    "q is empty",  # q of control characters only
    "q is too long",  # q within 1,000 characters that NFC lengthens past them (क़ → क + ़)
)


def valid_requests_are_accepted(ctx, response, case):
    """Schemathesis' ``positive_data_acceptance``, except for a 400 that
    names one of :data:`BEYOND_THE_SCHEMA`."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400 and response.json()["error"]["message"].startswith(
            BEYOND_THE_SCHEMA
        ):
            return None
        raise


@pytest.fixture(scope="module")
def app(shared):
    """The app over the session's shared index of the small corpus. No result
    cache: every request runs a search; no query log: none is read."""
    return make_app(shared.index, query_log="off", QUERY_CACHE=0)


def test_the_fuzzed_description_is_the_one_the_app_serves(app):
    assert app.test_client().get("/api/openapi.json").get_json() == openapi_document()


@schema.exclude(path_regex="^/api/documents").parametrize()
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_response_matches_the_description(case, app):
    case.call_and_validate(
        app=app,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_requests_are_accepted],
    )


TOKEN = "fuzz-token"


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value) -> bytes:
    """A pushed body of JSON Lines: the generated text as is (the schema says a string)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def push_app(tmp_path_factory):
    """The app over an index of its own (pushes change it), with the admin token."""
    from .builders import build_small_index

    index_dir = build_small_index(tmp_path_factory.mktemp("fuzz-push"))
    return make_app(index_dir, query_log="off", QUERY_CACHE=0, ADMIN_TOKEN=TOKEN)


@schema.include(path_regex="^/api/documents").parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_document_endpoints_match_the_description(case, push_app):
    """Pushes, retractions and look-ups fuzzed, with the token: no 5xx, the
    documented statuses and bodies. (A pushed body is checked document by
    document: what the schema calls valid may still be refused by the
    reindex's own rules, a 422 that says why. Schemathesis' probe without
    the token needs a server, not a WSGI app: test_push.py checks the 401s.)"""
    case.call_and_validate(
        app=push_app,
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=[positive_data_acceptance, ignored_auth],
    )
