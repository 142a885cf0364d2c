"""The OpenAPI documents (docs/openapi/): generated from the code, valid, complete, and true to the wire shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from openapi_spec_validator import validate
from pydantic import BaseModel
from switchboard.dialects import airvantage, crossbar, ess, expeto, wire
from switchboard.errors import InvalidInput, NotFound

from tests.support import ROOT, rest_event
from tools import openapi

NAMES = [dialect.name for dialect in openapi.DIALECTS]


@pytest.fixture(scope="module")
def generated() -> dict[str, dict[str, Any]]:
    return openapi.documents()


@pytest.mark.parametrize("name", NAMES)
def test_checked_in_document_is_what_the_code_generates(generated, name):
    path = openapi.OUT / f"{name}.json"
    assert path.exists(), f"{path} is missing: run .venv/bin/python -m tools.openapi"
    assert path.read_text(encoding="utf-8") == openapi.render(generated[name]), (
        f"{path.relative_to(ROOT)} differs from the routes and models in the code: "
        "run .venv/bin/python -m tools.openapi and commit the result"
    )


def test_check_mode_reports_a_stale_document(tmp_path, monkeypatch, capsys):
    for name in NAMES:
        (tmp_path / f"{name}.json").write_text((openapi.OUT / f"{name}.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(openapi, "OUT", tmp_path)
    monkeypatch.setattr(openapi, "ROOT", tmp_path.parent)
    assert openapi.main(["--check"]) == 0
    (tmp_path / "ess.json").write_text("{}\n")
    assert openapi.main(["--check"]) == 1
    assert "ess.json" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_document_is_valid_openapi_3_1(name):
    document = json.loads((openapi.OUT / f"{name}.json").read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_route_of_every_resolver_is_in_exactly_one_document(generated):
    documented = Counter(
        (method.upper(), path)
        for document in generated.values()
        for path, item in document["paths"].items()
        for method in item
    )
    # the public path: the resolver's base path (strip_prefixes), then its route
    routes = [(op.method, op.path) for op in openapi.operations()]
    assert len(routes) > 100
    for route in routes:
        assert documented[route] == 1, f"{route} appears {documented[route]} times"
    assert set(documented) == set(routes)


def test_operations_carry_what_their_handlers_read(generated):
    crossbar_doc, ess_doc = generated["crossbar"], generated["ess"]
    create = crossbar_doc["paths"]["/v2/accounts/{account_id}/alerts"]["put"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["data"] == {"$ref": "#/components/schemas/AlertInput"}
    assert "201" in create["responses"]
    listing = crossbar_doc["paths"]["/v2/accounts/{account_id}/alerts"]["get"]
    page_size = next(p for p in listing["parameters"] if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    mdn = ess_doc["paths"]["/ess/v1/topic-subscriptions/mdn"]["get"]
    required = {p["name"] for p in mdn["parameters"] if p["required"]}
    assert required == {"topicId", "matchingCriteria"}
    deleted = ess_doc["paths"]["/ess/v1/topics/{topic_id}/subscriptions/{sub_id}"]["delete"]["responses"]["204"]
    assert "content" not in deleted


def test_logins_need_no_credential_and_the_rest_do(generated):
    assert generated["crossbar"]["paths"]["/v2/api_auth"]["put"]["security"] == []
    assert generated["airvantage"]["paths"]["/api/oauth/token"]["post"]["security"] == []
    token = generated["airvantage"]["paths"]["/api/oauth/token"]["post"]["requestBody"]["content"]
    assert list(token) == ["application/x-www-form-urlencoded"]
    assert "security" not in generated["crossbar"]["paths"]["/v2/accounts/{account_id}/alerts"]["get"]
    schemes = generated["crossbar"]["components"]["securitySchemes"]
    assert schemes["XAuthToken"] == {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}
    assert schemes["AuthTokenQuery"]["in"] == "query"
    assert generated["ess"]["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-KEY"


@pytest.mark.parametrize(
    ("name", "model"),
    [("crossbar", "CrossbarError"), ("airvantage", "AirVantageError"), ("ess", "EssError"), ("expeto", "ExpetoError")],
)
def test_error_responses_are_the_dialect_shape(generated, name, model):
    error = generated[name]["components"]["responses"]["Error"]["content"]["application/json"]["schema"]
    assert error == {"$ref": f"#/components/schemas/{model}"}


# ---------------------------------------------------------------- the wire models match what the dialects send


def _resolve(install: Any, raise_it: Exception, reply: Any = None) -> dict[str, Any]:
    app = APIGatewayRestResolver()
    install(app)

    @app.get("/probe")
    def probe() -> Response:
        if reply is not None:
            return reply(app)
        raise raise_it

    event = rest_event("GET", "/probe", None, headers={"X-Auth-Token": "sbs_probe"})
    return json.loads(app.resolve(event, {})["body"])


def _conforms(model: type[BaseModel], body: dict[str, Any]) -> None:
    model.model_validate(body)


def test_crossbar_bodies_match_their_models():
    invalid = InvalidInput.single("data.name", "required", "Field is required but missing")
    _conforms(wire.CrossbarError, _resolve(crossbar.install, invalid))
    _conforms(wire.CrossbarError, _resolve(crossbar.install, NotFound("alert", "a1")))
    ok = _resolve(crossbar.install, invalid, lambda app: crossbar.ok(app, {"id": "x"}))
    _conforms(wire.CrossbarEnvelope, ok)
    assert ok["status"] == "success" and ok["auth_token"] == "sbs_probe"


def test_airvantage_ess_expeto_bodies_match_their_models():
    _conforms(wire.AirVantageError, _resolve(airvantage.install, NotFound("rule", "r1")))
    _conforms(wire.AirVantageListing, airvantage.listing([{"uid": "1"}]).body)
    _conforms(wire.EssError, _resolve(ess.install, InvalidInput.single("topicId", "required", "missing")))
    _conforms(wire.ExpetoError, _resolve(expeto.install, NotFound("subscriber", "001")))
    hal = _resolve(expeto.install, NotFound("x", "y"), lambda app: expeto.collection(app, "items", [{}], 1, 0, 20))
    _conforms(wire.HalCollection, hal)


def test_functions_do_not_import_the_wire_models_or_the_generator():
    # The documents cost the functions nothing: importing every function leaves these modules unloaded.
    code = (
        "import sys, importlib.util, pathlib\n"
        "for app in sorted(pathlib.Path('functions').glob('*/app.py')):\n"
        "    spec = importlib.util.spec_from_file_location('f_' + app.parent.name, app)\n"
        "    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(sorted(m for m in ('switchboard.dialects.wire', 'tools.openapi') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


# ---------------------------------------------------------------- served by the local runtime


def test_local_api_server_serves_the_documents(tmp_path):
    import requests
    from switchboard_local.apigateway import ApiServer
    from switchboard_local.runtime import LocalRuntime

    assert LocalRuntime(ROOT / "template.yaml").openapi_dir == openapi.OUT
    (tmp_path / "ess.json").write_text('{"openapi": "3.1.0"}\n')
    (tmp_path / "notes.txt").write_text("not served")
    server = ApiServer(port=0)
    server.openapi_dir = tmp_path
    server.start()
    try:
        served = requests.get(f"{server.url}/_openapi/ess.json", timeout=10)
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "application/json"
        assert served.json() == {"openapi": "3.1.0"}
        for name in ("crossbar.json", "notes.txt", "..%2Fess.json", "sub/ess.json"):
            missing = requests.get(f"{server.url}/_openapi/{name}", timeout=10)
            assert missing.status_code == 404, name
            assert missing.json()["documents"] == ["ess.json"]
    finally:
        server.stop()


DIALECT_APIS = {"crossbar": "KazooApi", "airvantage": "AirVantageApi", "ess": "EssApi", "expeto": "ExpetoApi"}


@pytest.mark.parametrize("name", NAMES)
def test_gateway_statuses_are_the_dialect_shape_with_the_apis_own_answer_as_example(generated, name):
    template = openapi.load_yaml(openapi.TEMPLATE)
    answers = template["Resources"][DIALECT_APIS[name]]["Properties"]["GatewayResponses"]
    responses = generated[name]["components"]["responses"]
    error = responses["Error"]["content"]["application/json"]["schema"]
    statuses = {str(answer["StatusCode"]) for answer in answers.values()}
    assert {"401", "403", "404", "413", "429", "502", "504"} <= statuses
    for status in statuses:
        content = responses[f"Gateway{status}"]["content"]["application/json"]
        assert content["schema"] == error  # the dialect's error shape, no generic gateway body beside it
        model = next(d.error_model for d in openapi.DIALECTS if d.name == name)
        model.model_validate(content["example"])
    alerts = generated["crossbar"]["paths"]["/v2/accounts/{account_id}/alerts"]["get"]["responses"]
    assert alerts["401"] == {"$ref": "#/components/responses/Gateway401"}
    assert alerts["429"] == {"$ref": "#/components/responses/Gateway429"}
    login = generated["crossbar"]["paths"]["/v2/api_auth"]["put"]["responses"]
    assert "401" not in login and "403" in login


def test_a_query_reader_that_refuses_values_outside_a_list_documents_the_list(generated):
    listing = generated["crossbar"]["paths"]["/v2/accounts/{account_id}/alerts"]["get"]["parameters"]
    paginate = next(p for p in listing if p["name"] == "paginate")
    assert paginate["schema"] == {"type": "string", "enum": ["true", "false"]}
    history = generated["airvantage"]["paths"]["/api/v3/alerts/history"]["get"]["parameters"]
    assert next(p for p in history if p["name"] == "asc")["schema"]["enum"] == ["true", "false"]


def test_route_decorator_arguments_override_what_is_derived():
    app = APIGatewayRestResolver()

    @app.get("/ess/v1/probe/<probe_id>", summary="Read a probe", tags=["probes"], responses={200: {"description": "A"}})
    def read_probe(probe_id: str) -> Response:
        """Derived summary.

        Derived description."""
        return ess.reply({"id": probe_id, "offset": ess.page(app)})

    @app.get("/ess/v1/probes")
    def list_probes() -> Response:
        """List the probes.

        Every one of them."""
        return ess.paged("probes", [], *ess.page(app))

    ess_dialect = openapi.dialect_of("/ess/v1/probes")
    schemas = openapi.Schemas()
    by_name = {route.func.__name__: openapi.Operation("probe", route) for route in openapi.routes(app)}
    declared, derived = by_name["read_probe"], by_name["list_probes"]
    operation = openapi.operation_object(declared, ess_dialect, schemas, False, "read_probe", None)
    assert (operation["summary"], operation["tags"]) == ("Read a probe", ["probes"])
    assert operation["description"] == "Derived description."
    assert operation["responses"]["200"] == {"description": "A"}
    assert [p["name"] for p in operation["parameters"]] == ["probe_id", "limit", "offset"]
    operation = openapi.operation_object(derived, ess_dialect, schemas, True, "list_probes", None)
    assert (operation["summary"], operation["description"], operation["tags"]) == (
        "List the probes.",
        "Every one of them.",
        ["probe"],
    )
    assert operation["security"] == [] and "401" not in operation["responses"]
