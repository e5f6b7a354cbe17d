"""Unit tests of the swagger documents (o16n.server.swagger); no server involved."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

import o16n
from o16n.server.swagger import core_openapi, service_swagger
from o16n.wire.types import WIRE_TYPES

REFERENCE_CORE_SWAGGER = Path(__file__).resolve().parents[3] / "shared/reference/rserver-swagger-9.1.0.json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}


def make_service(**overrides: Any) -> dict[str, Any]:
    service = {
        "name": "Double",
        "version": "V1.0",
        "description": "Doubles its input.",
        "operationId": None,
        "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
        "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
        "outputFileNames": [],
    }
    service.update(overrides)
    return service


def operations(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (path, method, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def both_documents() -> list[dict[str, Any]]:
    frame_service = make_service(
        inputParameterDefinitions=[{"name": "frame", "type": "data.frame"}, {"name": "v", "type": "vector"}],
        outputParameterDefinitions=[{"name": "m", "type": "matrix"}],
        outputFileNames=["out.csv"],
    )
    return [service_swagger(make_service()), service_swagger(frame_service), core_openapi()]


# --- per-service document ----------------------------------------------------------------------


def test_double_service_has_exactly_the_consume_batch_and_login_operations() -> None:
    doc = service_swagger(make_service())
    base = "/api/Double/V1.0"
    assert operations(doc) == {
        (base, "post", "ConsumeWebService"),
        (f"{base}/batch", "post", "StartBatchExecution"),
        (f"{base}/batch", "get", "GetBatchExecutions"),
        (f"{base}/batch/{{executionId}}", "get", "GetBatchExecutionStatus"),
        (f"{base}/batch/{{executionId}}", "delete", "CancelAndDeleteBatchExecution"),
        (f"{base}/batch/{{executionId}}/{{index}}/files", "get", "GetBatchExecutionFiles"),
        (f"{base}/batch/{{executionId}}/{{index}}/files/{{fileName}}", "get", "GetBatchExecutionFile"),
        ("/login", "post", "login"),
        ("/login/refreshToken", "post", "renewToken"),
        ("/login/refreshToken", "delete", "revokeRefreshToken"),
    }


def test_double_service_top_level_layout() -> None:
    doc = service_swagger(make_service())
    assert doc["swagger"] == "2.0"
    assert doc["info"] == {"title": "Double", "version": "V1.0", "description": "Doubles its input."}
    assert doc["tags"] == [{"name": "Double", "description": "Doubles its input."}]
    assert doc["schemes"] == ["http", "https"]
    assert doc["consumes"] == doc["produces"] == ["application/json"]
    assert doc["securityDefinitions"] == {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}}
    assert "host" not in doc
    assert set(doc["definitions"]) == {
        "InputParameters",
        "OutputParameters",
        "WebServiceResult",
        "Error",
        "StartBatchExecutionResponse",
        "BatchWebServiceResult",
        "LoginRequest",
        "RenewTokenRequest",
        "AccessTokenResponse",
    }


def test_host_is_set_only_when_given() -> None:
    assert service_swagger(make_service(), host="example.org:12800")["host"] == "example.org:12800"


def test_missing_description_gets_a_generated_one() -> None:
    doc = service_swagger(make_service(description=None))
    assert doc["info"]["description"]
    assert doc["tags"][0]["description"] == doc["info"]["description"]


def test_consume_operation() -> None:
    consume = service_swagger(make_service())["paths"]["/api/Double/V1.0"]["post"]
    assert consume["tags"] == ["Double"]
    assert consume["security"] == [{"Bearer": []}]
    [body] = consume["parameters"]
    assert body["in"] == "body" and body["required"] is True
    assert body["schema"] == {"$ref": "#/definitions/InputParameters"}
    assert set(consume["responses"]) == {"200", "400", "500", "default"}
    assert consume["responses"]["200"]["schema"] == {"$ref": "#/definitions/WebServiceResult"}
    assert consume["responses"]["default"]["schema"] == {"$ref": "#/definitions/Error"}


def test_custom_operation_id_names_the_consume_operation() -> None:
    doc = service_swagger(make_service(operationId="double_it"))
    assert doc["paths"]["/api/Double/V1.0"]["post"]["operationId"] == "double_it"


def test_every_api_operation_is_bearer_secured_and_login_is_not() -> None:
    doc = service_swagger(make_service())
    for path, method, _ in operations(doc):
        security = doc["paths"][path][method]["security"]
        if path.startswith("/api/") or (path, method) == ("/login/refreshToken", "delete"):
            assert security == [{"Bearer": []}], (path, method)
        else:
            assert security == [], (path, method)


def test_batch_operations() -> None:
    paths = service_swagger(make_service())["paths"]
    start = paths["/api/Double/V1.0/batch"]["post"]
    assert start["responses"]["202"]["schema"] == {"$ref": "#/definitions/StartBatchExecutionResponse"}
    body, parallel = start["parameters"]
    assert body["schema"] == {"type": "array", "items": {"$ref": "#/definitions/InputParameters"}}
    assert (parallel["name"], parallel["in"], parallel["type"], parallel["format"]) == ("parallelCount", "query", "integer", "int32")
    assert parallel["required"] is False

    listing = paths["/api/Double/V1.0/batch"]["get"]
    assert listing["responses"]["200"]["schema"] == {"type": "array", "items": {"type": "string"}}

    status = paths["/api/Double/V1.0/batch/{executionId}"]["get"]
    partial = next(p for p in status["parameters"] if p["name"] == "showPartialResults")
    assert (partial["in"], partial["type"], partial["required"]) == ("query", "boolean", False)
    assert status["responses"]["200"]["schema"] == {"$ref": "#/definitions/BatchWebServiceResult"}

    download = paths["/api/Double/V1.0/batch/{executionId}/{index}/files/{fileName}"]["get"]
    assert download["responses"]["200"]["schema"] == {"type": "file"}
    index = next(p for p in download["parameters"] if p["name"] == "index")
    assert index["type"] == "integer"


def test_revoke_refresh_token_takes_a_query_parameter() -> None:
    revoke = service_swagger(make_service())["paths"]["/login/refreshToken"]["delete"]
    assert [(p["name"], p["in"], p["required"]) for p in revoke["parameters"]] == [("refreshToken", "query", True)]


def test_integer_parameters_of_double() -> None:
    definitions = service_swagger(make_service())["definitions"]
    x = {"type": "integer", "format": "int64", "description": "integer"}
    assert definitions["InputParameters"] == {"type": "object", "required": ["x"], "properties": {"x": x}}
    assert definitions["OutputParameters"] == {"type": "object", "properties": {"y": x}}


def test_every_wire_type_maps_to_its_json_schema() -> None:
    inputs = [{"name": f"p_{wire.replace('.', '_')}", "type": wire} for wire in WIRE_TYPES]
    doc = service_swagger(make_service(inputParameterDefinitions=inputs, outputParameterDefinitions=inputs))
    props = doc["definitions"]["InputParameters"]["properties"]
    assert props == doc["definitions"]["OutputParameters"]["properties"]
    assert doc["definitions"]["InputParameters"]["required"] == [p["name"] for p in inputs]
    assert props["p_logical"] == {"type": "boolean", "description": "logical"}
    assert props["p_numeric"] == {"type": "number", "format": "double", "description": "numeric"}
    assert props["p_integer"] == {"type": "integer", "format": "int64", "description": "integer"}
    assert props["p_character"] == {"type": "string", "description": "character"}
    assert props["p_vector"] == {"type": "array", "items": {}, "description": "vector"}
    assert props["p_matrix"] == {"type": "array", "items": {"type": "array", "items": {}}, "description": "matrix"}
    assert props["p_data_frame"] == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {}},
        "description": "data.frame",
    }


def test_type_aliases_are_documented_under_their_wire_name() -> None:
    doc = service_swagger(make_service(inputParameterDefinitions=[{"name": "f", "type": "float"}]))
    assert doc["definitions"]["InputParameters"]["properties"]["f"]["description"] == "numeric"


def test_service_without_parameters_has_no_required_list() -> None:
    doc = service_swagger(make_service(inputParameterDefinitions=[], outputParameterDefinitions=[]))
    assert doc["definitions"]["InputParameters"] == {"type": "object", "properties": {}}
    assert doc["definitions"]["OutputParameters"] == {"type": "object", "properties": {}}


def test_web_service_result_and_batch_result_shapes() -> None:
    definitions = service_swagger(make_service(outputFileNames=["plot.png"]))["definitions"]
    result = definitions["WebServiceResult"]["properties"]
    assert set(result) == {"success", "errorMessage", "consoleOutput", "changedFiles", "outputFiles", "outputParameters"}
    assert result["changedFiles"]["items"] == {"type": "string"}
    assert result["outputFiles"]["additionalProperties"] == {"type": "string", "format": "byte"}
    assert "plot.png" in result["outputFiles"]["description"]
    assert result["outputParameters"] == {"$ref": "#/definitions/OutputParameters"}
    batch = definitions["BatchWebServiceResult"]["properties"]
    assert batch["state"]["enum"] == ["Pending", "Ready", "InProgress", "Complete", "Failed"]
    assert batch["batchExecutionResults"]["items"] == {"$ref": "#/definitions/WebServiceResult"}
    assert set(definitions["Error"]["properties"]) == {"code", "message", "fields"}
    token = definitions["AccessTokenResponse"]["properties"]
    assert set(token) == {"token_type", "access_token", "expires_in", "expires_on", "refresh_token"}
    assert token["expires_in"]["type"] == "integer"


@pytest.mark.parametrize(("name", "version"), [("my.svc-v2", "1.0.0-beta.3"), ("tx_service", "v-1.2")])
def test_names_and_versions_are_used_verbatim(name: str, version: str) -> None:
    doc = service_swagger(make_service(name=name, version=version))
    base = f"/api/{name}/{version}"
    assert base in doc["paths"]
    assert f"{base}/batch/{{executionId}}/{{index}}/files/{{fileName}}" in doc["paths"]
    assert doc["info"]["title"] == name and doc["info"]["version"] == version
    assert all(op["tags"] == [name] for path, item in doc["paths"].items() if path.startswith("/api/") for op in item.values())


def test_documents_do_not_share_state_between_calls() -> None:
    first = service_swagger(make_service())
    first["securityDefinitions"]["Bearer"]["name"] = "changed"
    first["paths"]["/api/Double/V1.0/batch/{executionId}"]["get"]["parameters"][0]["name"] = "changed"
    second = service_swagger(make_service())
    assert second["securityDefinitions"]["Bearer"]["name"] == "Authorization"
    assert second["paths"]["/api/Double/V1.0/batch/{executionId}"]["delete"]["parameters"][0]["name"] == "executionId"
    # Within one document, editing one operation leaves the others alone.
    assert first["paths"]["/api/Double/V1.0/batch/{executionId}"]["delete"]["parameters"][0]["name"] == "executionId"

    core = core_openapi()
    core["paths"]["/services/{name}"]["get"]["parameters"][0]["name"] = "changed"
    assert core_openapi()["paths"]["/services/{name}"]["get"]["parameters"][0]["name"] == "name"


# --- core document -----------------------------------------------------------------------------


def test_core_info_and_security() -> None:
    doc = core_openapi()
    assert doc["swagger"] == "2.0"
    assert doc["info"]["title"] == "o16n"
    assert doc["info"]["version"] == o16n.__version__
    assert doc["securityDefinitions"] == {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}}
    for path, method, operation_id in operations(doc):
        security = doc["paths"][path][method]["security"]
        assert security == ([] if operation_id in {"login", "renewToken"} else [{"Bearer": []}]), operation_id


def test_core_covers_every_operation_of_the_9_1_swagger() -> None:
    if not REFERENCE_CORE_SWAGGER.is_file():
        pytest.skip(f"reference swagger not available at {REFERENCE_CORE_SWAGGER}")
    reference = json.loads(REFERENCE_CORE_SWAGGER.read_text(encoding="utf-8"))
    expected = operations(reference)
    assert len(expected) == 36
    mine = core_openapi()
    assert expected <= operations(mine)
    for path, method, _ in expected:
        theirs, ours = reference["paths"][path][method], mine["paths"][path][method]
        # Parameter names and locations become argument names in generated clients.
        assert {(p["name"], p["in"]) for p in theirs.get("parameters", [])} == {
            (p["name"], p["in"]) for p in ours["parameters"]
        }, (path, method)
        assert set(theirs["responses"]) == set(ours["responses"]), (path, method)
    for name, definition in reference["definitions"].items():
        assert set(definition.get("properties", {})) <= set(mine["definitions"][name].get("properties", {})), name


def test_core_adds_the_9_3_pool_operations() -> None:
    pool = "/services/{name}/{version}/pool"
    assert {
        (pool, "post", "createOrUpdateServicePool"),
        (pool, "get", "getServicePoolStatus"),
        (pool, "delete", "deleteServicePool"),
    } <= operations(core_openapi())


def test_core_operation_ids_are_unique() -> None:
    ids = [operation_id for _, _, operation_id in operations(core_openapi())]
    assert len(ids) == len(set(ids))


def test_core_schemas() -> None:
    definitions = core_openapi()["definitions"]
    assert set(definitions["CreateSessionRequest"]["properties"]) == {"name", "snapshotId", "runtimeType", "environment"}
    for name in ("CreateSessionRequest", "PublishWebServiceRequest"):
        runtime = definitions[name]["properties"]["runtimeType"]
        assert runtime["default"] == "Python" and "Python" in runtime["description"]
    assert definitions["ParameterDefinition"]["properties"]["type"]["enum"] == list(WIRE_TYPES)
    assert set(definitions["Error"]["properties"]) == {"message", "link", "exceptionType"}
    web_service = definitions["WebService"]
    assert web_service["required"] == ["name", "version"]
    assert {
        "versionPublishedBy",
        "creationTime",
        "snapshotId",
        "runtimeType",
        "initCode",
        "code",
        "description",
        "operationId",
        "inputParameterDefinitions",
        "outputParameterDefinitions",
        "outputFileNames",
        "myPermissionOnService",
    } <= set(web_service["properties"])
    assert web_service["properties"]["runtimeType"]["enum"] == ["R", "Python", "Realtime"]


# --- both documents ----------------------------------------------------------------------------


@pytest.mark.parametrize("document", both_documents(), ids=["double", "frame", "core"])
def test_every_ref_resolves(document: dict[str, Any]) -> None:
    found = refs(document)
    assert found
    for ref in found:
        assert isinstance(resolve(document, ref), dict), ref


@pytest.mark.parametrize("document", both_documents(), ids=["double", "frame", "core"])
def test_path_templates_match_path_parameters(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == templated, (path, method)
            assert all(p["required"] for p in operation["parameters"] if p["in"] == "path")


@pytest.mark.parametrize("document", both_documents(), ids=["double", "frame", "core"])
def test_documents_are_valid_swagger_2(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    # The official swagger 2.0 JSON schema wrongly rejects `{"type": "file"}` as a response schema,
    # which the 2.0 specification explicitly allows (OAI/OpenAPI-Specification#260); swap it out.
    checked = copy.deepcopy(document)
    for item in checked["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                if response.get("schema") == {"type": "file"}:
                    response["schema"] = {"type": "string", "format": "binary"}
    validator.validate(checked)
