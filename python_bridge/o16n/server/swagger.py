"""Swagger 2.0 documents served by o16n.

Two documents are built here, both as plain dicts ready for JSON encoding:

* `service_swagger` — the per-service document at `GET /api/{name}/{version}/swagger.json`. Its
  paths, operationIds, parameter names and definition names follow the layout R Server generated,
  so client code generated against a real server keeps working against ours.
* `core_openapi` — the document for the core API at `GET /swagger.json`, built from the table in
  `_core_operations`. Paths, methods, operationIds, tags and JSON property names match the R Server
  9.1 core swagger (plus the 9.3 service-pool operations) for the same reason.

Descriptions are our own. Swagger 2.0 (not OpenAPI 3) is used because that is what the R Server
client ecosystem (AutoRest, swagger-codegen) was generated from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from o16n import __version__
from o16n.wire.types import WIRE_TYPES, canonical_type

Schema = dict[str, Any]

_JSON = "application/json"
_OCTET_STREAM = "application/octet-stream"
_BEARER: list[dict[str, list[str]]] = [{"Bearer": []}]
_SECURITY_DEFINITIONS = {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}}
DEFAULT_CONSUME_OPERATION_ID = "ConsumeWebService"


# --- small schema and parameter builders -------------------------------------------------------


def _ref(definition: str) -> Schema:
    return {"$ref": f"#/definitions/{definition}"}


def _array(items: Schema, description: str | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


def _prop(type_: str, description: str, **extra: Any) -> Schema:
    return {"type": type_, "description": description, **extra}


def _object(properties: dict[str, Schema], *, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object"}
    if required:  # JSON Schema draft 4 (used by swagger 2.0) forbids an empty `required`
        schema["required"] = required
    schema["properties"] = properties
    return schema


def _path_param(name: str, description: str, type_: str = "string", **extra: Any) -> Schema:
    return {"name": name, "in": "path", "required": True, "type": type_, "description": description, **extra}


def _query_param(name: str, type_: str, description: str, *, required: bool = False, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "required": required, "type": type_, "description": description, **extra}


def _body_param(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "body", "required": True, "description": description, "schema": schema}


def _form_param(name: str, type_: str, description: str, *, required: bool = False) -> Schema:
    return {"name": name, "in": "formData", "required": required, "type": type_, "description": description}


def _error_list(errors: list[tuple[int, str]]) -> str:
    """Markdown list of the error statuses of an operation, for its `default` response.

    Errors go under `default` rather than as explicit status codes because generated clients
    (AutoRest in particular) treat every explicitly listed status as a normal result.
    """
    lines = [f"* `{code}` - {reason}" for code, reason in errors]
    return "Error.\n" + "\n".join(lines)


def _operation(
    operation_id: str,
    tag: str,
    summary: str,
    *,
    ok: tuple[int, str, Schema | None],
    errors: list[tuple[int, str]],
    params: list[Schema] | None = None,
    secured: bool = True,
    consumes: list[str] | None = None,
    produces: list[str] | None = None,
) -> Schema:
    status, ok_description, ok_schema = ok
    success: Schema = {"description": ok_description}
    if ok_schema is not None:
        success["schema"] = ok_schema
    operation: Schema = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if consumes:
        operation["consumes"] = consumes
    if produces:
        operation["produces"] = produces
    operation["parameters"] = params or []
    operation["responses"] = {
        str(status): success,
        "default": {"description": _error_list(errors), "schema": _ref("Error")},
    }
    # Explicit on every operation: generators differ in how they merge a global `security`.
    operation["security"] = _BEARER if secured else []
    return operation


def _fresh(document: dict[str, Any]) -> dict[str, Any]:
    """Return the document as a plain JSON tree: the builders reuse module-level pieces (parameters,
    security requirements), and a caller that edits its copy (say, sets `host`) must not change
    the module's pieces or other parts of the document."""
    return json.loads(json.dumps(document))


# --- authentication: shared by both documents ---------------------------------------------------


def _auth_paths(tag: str) -> dict[str, Schema]:
    return {
        "/login": {
            "post": _operation(
                "login",
                tag,
                "Log in with a user name and password and receive an access token and a refresh token.",
                params=[_body_param("loginRequest", _ref("LoginRequest"), "The user's credentials.")],
                ok=(200, "The user is logged in.", _ref("AccessTokenResponse")),
                errors=[(401, "The credentials are not valid.")],
                secured=False,
            )
        },
        "/login/refreshToken": {
            "post": _operation(
                "renewToken",
                tag,
                "Exchange a refresh token for a new access token and a new refresh token.",
                params=[_body_param("renewTokenRequest", _ref("RenewTokenRequest"), "The refresh token to exchange.")],
                ok=(200, "A new token pair.", _ref("AccessTokenResponse")),
                errors=[(401, "The refresh token is unknown, revoked or expired.")],
                secured=False,
            ),
            "delete": _operation(
                "revokeRefreshToken",
                tag,
                "Revoke a refresh token so that it can no longer be exchanged.",
                params=[_query_param("refreshToken", "string", "The refresh token to revoke.", required=True)],
                ok=(200, "The refresh token is revoked.", _ref("AccessTokenResponse")),
                errors=[(401, "Not authenticated, or the refresh token is not valid.")],
            ),
        },
    }


def _auth_definitions() -> dict[str, Schema]:
    return {
        "LoginRequest": _object(
            {
                "username": _prop("string", "Name of the user."),
                "password": _prop("string", "Password of the user."),
            },
            required=["username", "password"],
        ),
        "RenewTokenRequest": _object(
            {"refreshToken": _prop("string", "A refresh token that has not expired or been revoked.")},
            required=["refreshToken"],
        ),
        "AccessTokenResponse": _object(
            {
                "token_type": _prop("string", "Always `Bearer`."),
                "access_token": _prop("string", "Send as `Authorization: Bearer <access_token>` on every call."),
                "expires_in": _prop("integer", "Lifetime of the access token in seconds.", format="int32"),
                # Declared as a string by R Server although the value is a number; kept for client compatibility.
                "expires_on": _prop("string", "Expiry of the access token, in seconds since the Unix epoch."),
                "refresh_token": _prop("string", "Token for `POST /login/refreshToken`."),
            }
        ),
    }


# --- per-service document ----------------------------------------------------------------------


def _parameter_schema(declared_type: str) -> Schema:
    """JSON schema of one declared input/output; the wire type name goes into `description` so that
    clients can recover the declared type (R Server does the same)."""
    wire = canonical_type(declared_type)
    any_value: Schema = {}
    by_type: dict[str, Schema] = {
        "logical": {"type": "boolean"},
        "numeric": {"type": "number", "format": "double"},
        "integer": {"type": "integer", "format": "int64"},
        "character": {"type": "string"},
        "vector": _array(any_value),
        "matrix": _array(_array(any_value)),  # rows
        "data.frame": {"type": "object", "additionalProperties": _array(any_value)},  # column name -> values
    }
    return {**by_type[wire], "description": wire}


def _parameters_definition(declared: list[dict[str, str]], *, required: bool) -> Schema:
    properties = {p["name"]: _parameter_schema(p["type"]) for p in declared}
    return _object(properties, required=[p["name"] for p in declared] if required else None)


def _service_definitions(service: dict[str, Any]) -> dict[str, Schema]:
    files_description = "Declared output files, by name, Base64-encoded; null for a declared file that was not produced."
    if service.get("outputFileNames"):
        files_description += " This service declares: " + ", ".join(service["outputFileNames"]) + "."
    web_service_result = _object(
        {
            "success": _prop("boolean", "Whether the execution succeeded."),
            "errorMessage": _prop("string", "The error raised by the service code, empty on success."),
            "consoleOutput": _prop("string", "Everything the service code printed during the execution."),
            "changedFiles": _array({"type": "string"}, "Names of the working-directory files the execution created or modified."),
            "outputFiles": _prop(
                "object",
                files_description,
                additionalProperties={"type": "string", "format": "byte"},
            ),
            "outputParameters": _ref("OutputParameters"),
        }
    )
    return {
        "InputParameters": _parameters_definition(service.get("inputParameterDefinitions") or [], required=True),
        "OutputParameters": _parameters_definition(service.get("outputParameterDefinitions") or [], required=False),
        "WebServiceResult": web_service_result,
        "Error": _object(
            {
                "code": _prop("integer", "HTTP status code.", format="int32"),
                "message": _prop("string", "What went wrong."),
                "fields": _prop("string", "The input field the error is about, if any."),
            }
        ),
        "StartBatchExecutionResponse": _object(
            {"batchExecutionId": _prop("string", "Id of the new batch execution; use it to poll for results.")}
        ),
        "BatchWebServiceResult": _object(
            {
                "state": _prop(
                    "string",
                    "Pending: accepted, not started. Ready: scheduled. InProgress: records are being processed. "
                    "Complete: every record has been processed. Failed: the execution stopped with an error.",
                    enum=["Pending", "Ready", "InProgress", "Complete", "Failed"],
                ),
                "completedItemCount": _prop("integer", "Number of records processed so far.", format="int32"),
                "totalItemCount": _prop("integer", "Number of records submitted.", format="int32"),
                "batchExecutionResults": _array(
                    _ref("WebServiceResult"), "One result per processed record, in the order the records were submitted."
                ),
            }
        ),
        **_auth_definitions(),
    }


def _service_paths(service: dict[str, Any]) -> dict[str, Schema]:
    name, version = service["name"], service["version"]
    base = f"/api/{name}/{version}"
    label = f"{name} {version}"
    execution_id = _path_param("executionId", "Id of the batch execution.")
    index = _path_param("index", "Zero-based position of the record in the batch.", "integer", format="int32")
    not_found = [(404, "Web service not found."), (404, "Batch execution not found."), (400, "Bad request.")]
    input_body = "Input values keyed by parameter name."

    def api(operation_id: str, summary: str, *, produces: str = _JSON, **kwargs: Any) -> Schema:
        return _operation(operation_id, name, summary, consumes=[_JSON], produces=[produces], **kwargs)

    consume = api(
        service.get("operationId") or DEFAULT_CONSUME_OPERATION_ID,
        f"Run {label} once and return its outputs.",
        params=[_body_param("WebServiceParameters", _ref("InputParameters"), input_body)],
        ok=(200, "The execution finished; check `success`.", _ref("WebServiceResult")),
        errors=[(400, "The inputs do not match the declared parameters."), (401, "Not authenticated."), (500, "Internal server error.")],
    )
    start_batch = api(
        "StartBatchExecution",
        f"Start an asynchronous execution of {label} over a list of records.",
        params=[
            _body_param("BatchWebServiceParameters", _array(_ref("InputParameters")), "One input object per record."),
            _query_param(
                "parallelCount", "integer", "How many records to process at once (capped by the server).", format="int32", default=10
            ),
        ],
        ok=(202, "The batch execution was accepted.", _ref("StartBatchExecutionResponse")),
        errors=[(400, "The inputs do not match the declared parameters."), (401, "Not authenticated."), (500, "Internal server error.")],
    )
    # R Server listed 400 and 500 explicitly (without a body) on the two consume operations, and
    # clients generated from its documents rely on that; the other operations use `default` only.
    for operation in (consume, start_batch):
        operation["responses"] |= {"400": {"description": "Bad request."}, "500": {"description": "Internal server error."}}

    return {
        base: {"post": consume},
        f"{base}/batch": {
            "post": start_batch,
            "get": api(
                "GetBatchExecutions",
                f"List the ids of the batch executions of {label}.",
                ok=(200, "Batch execution ids.", _array({"type": "string"})),
                errors=[(404, "Web service not found."), (400, "Bad request.")],
            ),
        },
        f"{base}/batch/{{executionId}}": {
            "get": api(
                "GetBatchExecutionStatus",
                f"Get the state and results of a batch execution of {label}.",
                params=[
                    execution_id,
                    _query_param(
                        "showPartialResults", "boolean", "Also return the results of the records finished so far."
                    ),
                ],
                ok=(200, "State of the batch execution.", _ref("BatchWebServiceResult")),
                errors=not_found,
            ),
            "delete": api(
                "CancelAndDeleteBatchExecution",
                f"Cancel a batch execution of {label} and delete its results.",
                params=[execution_id],
                ok=(200, "Ids of the deleted executions.", _array({"type": "string"})),
                errors=not_found,
            ),
        },
        f"{base}/batch/{{executionId}}/{{index}}/files": {
            "get": api(
                "GetBatchExecutionFiles",
                f"List the files produced by one record of a batch execution of {label}.",
                params=[execution_id, index],
                ok=(200, "File names.", _array({"type": "string"})),
                errors=not_found,
            )
        },
        f"{base}/batch/{{executionId}}/{{index}}/files/{{fileName}}": {
            "get": api(
                "GetBatchExecutionFile",
                f"Download one file produced by one record of a batch execution of {label}.",
                params=[execution_id, index, _path_param("fileName", "Name of the file.")],
                ok=(200, "The file content.", {"type": "file"}),
                errors=[(404, "Web service, batch execution or file not found."), (400, "Bad request.")],
                produces=_OCTET_STREAM,
            )
        },
        **_auth_paths("User"),
    }


def service_swagger(service: dict[str, Any], *, host: str | None = None) -> dict[str, Any]:
    """Swagger 2.0 document for one published web service.

    `service` carries `name`, `version`, `description`, `operationId`, `inputParameterDefinitions`,
    `outputParameterDefinitions` (lists of `{"name", "type"}`) and `outputFileNames`. Name and
    version are used verbatim in the paths. A parameter type may be a wire name or one of its
    aliases (see `o16n.wire.types`); anything else raises `ParameterTypeError`.
    """
    name, version = service["name"], service["version"]
    description = service.get("description") or f"Web service {name}, version {version}."
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": name, "version": version, "description": description},
    }
    if host:
        document["host"] = host
    document |= {
        "schemes": ["http", "https"],
        "consumes": [_JSON],
        "produces": [_JSON],
        "tags": [{"name": name, "description": description}],
        "securityDefinitions": _SECURITY_DEFINITIONS,
        "paths": _service_paths(service),
        "definitions": _service_definitions(service),
    }
    return _fresh(document)


# --- core document -----------------------------------------------------------------------------

_AUTH_TAG = "Authentication APIs"
_SERVICES_TAG = "Services Management APIs"
_CONSUMPTION_TAG = "Service Consumption APIs"
_SESSIONS_TAG = "Session APIs"
_SNAPSHOTS_TAG = "Snapshot APIs"
_STATUS_TAG = "Status APIs"
_USERS_TAG = "User APIs (o16n extensions)"
_ENVIRONMENTS_TAG = "Environment APIs (o16n extensions)"

_CORE_TAGS = [
    (
        _AUTH_TAG,
        "Log in with a user name and password and manage access and refresh tokens. "
        "Every other call needs `Authorization: Bearer <access_token>`.",
    ),
    (
        _SERVICES_TAG,
        "Publish, list, update and delete versioned web services, and size their dedicated worker pools. "
        "A service is consumed at `/api/{name}/{version}`, described by its own swagger document.",
    ),
    (_CONSUMPTION_TAG, "Get the swagger document of a published web service."),
    (_SESSIONS_TAG, "Interactive, stateful sessions: run code, move objects and files in and out, and take snapshots."),
    (_SNAPSHOTS_TAG, "Saved images of a session's workspace and working directory, reusable by new sessions and by services."),
    (_STATUS_TAG, "Health of the server and its components."),
    (
        _USERS_TAG,
        "o16n extensions (not part of the R Server 9.1 API): who the caller is, where they sign in "
        "(local users, LDAP / Active Directory, an OpenID Connect provider) and where their role came from.",
    ),
    (
        _ENVIRONMENTS_TAG,
        "o16n extensions (not part of the R Server 9.1 API): service environments, virtual environments built "
        "once per Python version + pinned packages and shared by the services and sessions that name them.",
    ),
]

_UNAUTHORIZED = (401, "Not authenticated.")
_SESSION_NOT_FOUND = (404, "Session not found.")

_NAME = _path_param("name", "Name of the web service.")
_VERSION = _path_param("version", "Version of the web service.")
_SESSION = _path_param("id", "Id of the session.")
_SNAPSHOT = _path_param("id", "Id of the snapshot.")
_FILE = _path_param("fileName", "Name of a file in the session's working directory.")
_OBJECT = _path_param("objectName", "Name of a workspace object.")

_STRING = {"type": "string"}
_STRINGS = _array(_STRING)
_SERVICES = _array(_ref("WebService"))


def _publish_body(name: str, description: str) -> Schema:
    return _body_param(name, _ref("PublishWebServiceRequest"), description)


def _realtime_form(*, model_required: bool) -> list[Schema]:
    return [
        _form_param("description", "string", "Description of the service."),
        _form_param("operationId", "string", "operationId of the consume operation in the service's swagger."),
        _form_param("model", "file", "The serialized model.", required=model_required),
    ]


def _core_operations() -> list[tuple[str, str, Schema]]:
    """(path, method, operation) for every core operation, in document order."""
    rows: list[tuple[str, str, Schema]] = []

    def adder(tag: str) -> Callable[..., None]:
        def add(method: str, path: str, operation_id: str, summary: str, **options: Any) -> None:
            rows.append((path, method, _operation(operation_id, tag, summary, **options)))

        return add

    publish_errors = [
        (400, "Invalid request."),
        _UNAUTHORIZED,
        (403, "The service name belongs to another user."),
        (409, "This name and version already exist; use PATCH to update."),
    ]
    update_errors = [
        (400, "Invalid request."),
        _UNAUTHORIZED,
        (403, "Only the publisher may change this service."),
        (404, "Service not found."),
    ]
    pool_errors = [(400, "Invalid request."), _UNAUTHORIZED, (403, "Not allowed to manage pools of this service.")]
    service_errors = [_UNAUTHORIZED, (404, "Service not found.")]
    session_errors = [_UNAUTHORIZED, _SESSION_NOT_FOUND]
    multipart = ["multipart/form-data"]
    a_file = {"type": "file"}

    # One call per operation reads as a table; keep formatters from exploding it.
    # fmt: off
    service = adder(_SERVICES_TAG)
    service("get", "/services", "getAllWebServices", "List all web services.",
            ok=(200, "All versions of all services.", _SERVICES), errors=[_UNAUTHORIZED])
    service("post", "/services/{name}", "publishWebService", "Publish a service under a generated (GUID) version.",
            params=[_NAME, _publish_body("publishRequest", "Code, parameters and options of the service.")],
            ok=(201, "Published.", _STRING), errors=publish_errors)
    service("get", "/services/{name}", "getAllWebServiceVersionsByName", "List every version of a service.",
            params=[_NAME], ok=(200, "The versions of the service.", _SERVICES), errors=[_UNAUTHORIZED])
    service("post", "/services/{name}/{version}", "publishWebServiceVersion", "Publish a service version.",
            params=[_NAME, _VERSION, _publish_body("publishRequest", "Code, parameters and options of the service.")],
            ok=(201, "Published.", _STRING), errors=publish_errors)
    service("patch", "/services/{name}/{version}", "patchWebServiceVersion", "Update fields of a service version.",
            params=[_NAME, _VERSION, _publish_body("patchRequest", "Fields to change; omitted fields keep their value.")],
            ok=(200, "Updated.", _STRING), errors=update_errors)
    service("get", "/services/{name}/{version}", "getWebServiceVersion", "Get one service version.",
            params=[_NAME, _VERSION], ok=(200, "A one-element list with the service.", _SERVICES),
            errors=service_errors)
    service("delete", "/services/{name}/{version}", "deleteWebServiceVersion", "Delete a service version.",
            params=[_NAME, _VERSION], ok=(200, "Deleted.", None),
            errors=[_UNAUTHORIZED, (403, "Only the publisher may delete this service."), (404, "Service not found.")])
    pool_body = _body_param("createOrUpdateServicePoolRequest", _ref("CreateOrUpdateServicePoolRequest"), "Pool sizes.")
    service("post", "/services/{name}/{version}/pool", "createOrUpdateServicePool",
            "Create or resize the dedicated worker pool of a service.",
            params=[_NAME, _VERSION, pool_body], ok=(200, "The pool is being created.", _STRING), errors=pool_errors)
    service("get", "/services/{name}/{version}/pool", "getServicePoolStatus",
            "Get the state of the dedicated pool of a service.",
            params=[_NAME, _VERSION], ok=(200, "Pool state per compute node.", _array(_ref("ServicePoolStatusResponse"))),
            errors=[_UNAUTHORIZED])
    service("delete", "/services/{name}/{version}/pool", "deleteServicePool", "Delete the dedicated pool of a service.",
            params=[_NAME, _VERSION], ok=(200, "Deleted.", _STRING), errors=pool_errors)
    service("post", "/realtime-services/{name}", "publishRealtimeWebServiceByName",
            "Publish a realtime (model-only) service under a generated version.",
            params=[_NAME, *_realtime_form(model_required=True)], consumes=multipart,
            ok=(201, "Published.", _STRING), errors=publish_errors)
    service("post", "/realtime-services/{name}/{version}", "publishRealtimeWebServiceByNameVersion",
            "Publish a realtime (model-only) service version.",
            params=[_NAME, _VERSION, *_realtime_form(model_required=True)], consumes=multipart,
            ok=(201, "Published.", _STRING), errors=publish_errors)
    service("patch", "/realtime-services/{name}/{version}", "patchRealtimeWebServiceByNameVersion",
            "Update a realtime service version.",
            params=[_NAME, _VERSION, *_realtime_form(model_required=False)], consumes=multipart,
            ok=(200, "Updated.", _STRING), errors=update_errors)

    consumption = adder(_CONSUMPTION_TAG)
    consumption("get", "/api/{name}/{version}/swagger.json", "GetWebServiceSwagger",
                "Get the swagger document of a service version.",
                params=[_NAME, _VERSION], ok=(200, "A swagger 2.0 document.", _ref("SwaggerJsonResponse")),
                errors=[(400, "Invalid request."), *service_errors])

    session = adder(_SESSIONS_TAG)
    session("post", "/sessions", "createSession", "Start a session.",
            params=[_body_param("createSessionRequest", _ref("CreateSessionRequest"), "Options of the new session.")],
            ok=(201, "The session is ready.", _ref("CreateSessionResponse")),
            errors=[_UNAUTHORIZED, (404, "Snapshot not found.")])
    session("get", "/sessions", "listSessions", "List the caller's sessions.",
            ok=(200, "The caller's sessions.", _array(_ref("Session"))), errors=[_UNAUTHORIZED])
    session("post", "/sessions/{id}/execute", "executeCode", "Run code in a session.",
            params=[_SESSION, _body_param("executeRequest", _ref("ExecuteRequest"), "Code, inputs and outputs.")],
            ok=(200, "The execution finished; check `success`.", _ref("ExecuteResponse")), errors=session_errors)
    session("post", "/sessions/{id}/cancel", "cancelSession", "Interrupt the running execution; the session stays.",
            params=[_SESSION], ok=(200, "Interrupt requested.", _STRING), errors=session_errors)
    session("delete", "/sessions/{id}", "closeSession", "Close a session.",
            params=[_SESSION], ok=(200, "Closed.", _STRING), errors=session_errors)
    session("delete", "/sessions/{id}/force", "closeSessionByForce", "Kill a session, even while it is executing.",
            params=[_SESSION], ok=(200, "Killed.", _STRING), errors=session_errors)
    session("get", "/sessions/{id}/console-output", "getSessionConsoleOutput",
            "Get the console output of the current or last execution.",
            params=[_SESSION], ok=(200, "Console output.", _ref("ConsoleOutputResponse")), errors=session_errors)
    session("get", "/sessions/{id}/history", "listSessionHistory", "List the code blocks executed in a session.",
            params=[_SESSION], ok=(200, "Code blocks, oldest first.", _STRINGS), errors=session_errors)
    session("post", "/sessions/{id}/files", "uploadSessionFile",
            "Upload a file to the working directory, replacing a file of the same name.",
            params=[_SESSION, _form_param("file", "file", "The file to upload.", required=True)],
            consumes=multipart, produces=["text/plain"], ok=(201, "Uploaded.", None), errors=session_errors)
    session("get", "/sessions/{id}/files", "listSessionFiles", "List the files in the working directory.",
            params=[_SESSION], ok=(200, "File names.", _STRINGS), errors=session_errors)
    session("get", "/sessions/{id}/files/{fileName}", "getSessionFile", "Download a file from the working directory.",
            params=[_SESSION, _FILE], produces=[_OCTET_STREAM], ok=(200, "The file content.", a_file),
            errors=[_UNAUTHORIZED, (404, "Session or file not found.")])
    session("delete", "/sessions/{id}/files/{fileName}", "deleteSessionFile", "Delete a file from the working directory.",
            params=[_SESSION, _FILE], ok=(200, "Deleted.", None),
            errors=[_UNAUTHORIZED, (404, "Session or file not found.")])
    session("get", "/sessions/{id}/workspace", "listWorkspaceObjects", "List the objects in the session's workspace.",
            params=[_SESSION], ok=(200, "Object names.", _STRINGS),
            errors=[*session_errors, (410, "The session has ended.")])
    serialized = _body_param("serializedObject", {"type": "string", "format": "binary"}, "The serialized object.")
    session("post", "/sessions/{id}/workspace/{objectName}", "setWorkspaceObject",
            "Store a serialized object (dill for Python sessions) in the workspace.",
            params=[_SESSION, _OBJECT, serialized], consumes=[_OCTET_STREAM], ok=(200, "Stored.", None),
            errors=session_errors)
    session("get", "/sessions/{id}/workspace/{objectName}", "getWorkspaceObject",
            "Download a workspace object, serialized (dill for Python sessions).",
            params=[_SESSION, _OBJECT], produces=[_OCTET_STREAM], ok=(200, "The serialized object.", a_file),
            errors=[_UNAUTHORIZED, (404, "Session or object not found.")])
    session("delete", "/sessions/{id}/workspace/{objectName}", "deleteWorkspaceObject",
            "Delete an object from the workspace.",
            params=[_SESSION, _OBJECT], ok=(200, "Deleted.", None),
            errors=[_UNAUTHORIZED, (404, "Session or object not found.")])

    snapshot = adder(_SNAPSHOTS_TAG)
    snapshot("post", "/sessions/{id}/snapshot", "CreateSnapshot",
             "Save the session's workspace and working directory as a snapshot.",
             params=[_SESSION, _body_param("createSnapshotRequest", _ref("CreateSnapshotRequest"), "Snapshot options.")],
             ok=(201, "Saved.", _ref("CreateSnapshotResponse")), errors=session_errors)
    snapshot("post", "/sessions/{id}/loadsnapshot/{snapshotId}", "LoadSnapshot",
             "Load a snapshot into a session of the same runtime, overwriting objects and files of the same name.",
             params=[_SESSION, _path_param("snapshotId", "Id of the snapshot.")], ok=(200, "Loaded.", None),
             errors=[_UNAUTHORIZED, (404, "Session or snapshot not found.")])
    snapshot("get", "/snapshots", "ListSnapshots", "List the caller's snapshots.",
             ok=(200, "The caller's snapshots.", _array(_ref("Snapshot"))), errors=[_UNAUTHORIZED])
    snapshot("get", "/snapshots/{id}", "GetSnapshotContent", "Download a snapshot as a zip archive.",
             params=[_SNAPSHOT], produces=["application/zip"],
             ok=(200, "Zip of the workspace file and the working-directory files.", a_file),
             errors=[_UNAUTHORIZED, (404, "Snapshot not found.")])
    snapshot("delete", "/snapshots/{id}", "DeleteSnapshot", "Delete a snapshot.",
             params=[_SNAPSHOT], ok=(200, "Deleted.", _STRING), errors=[_UNAUTHORIZED, (404, "Snapshot not found.")])

    status = adder(_STATUS_TAG)
    status("get", "/status", "status", "Report the health of the server.",
           ok=(200, "Health report.", _ref("StatusResponse")),
           errors=[_UNAUTHORIZED, (500, "The server could not determine its own health.")])

    # o16n extensions: marked so that tools comparing with the 9.1 document can leave them out.
    users = adder(_USERS_TAG)
    users("get", "/users/me", "getCurrentUser",
          "Who the caller is: id, name, role, sign-in provider and where the role came from.",
          ok=(200, "The caller.", _ref("User")), errors=[_UNAUTHORIZED, (403, "No role is mapped for the caller.")])
    users("get", "/users", "listUsers", "List local users and the directory users seen so far (Owners only).",
          ok=(200, "Every user.", _array(_ref("User"))), errors=[_UNAUTHORIZED, (403, "Needs the Owner role.")])
    environments = adder(_ENVIRONMENTS_TAG)
    key = _path_param("key", "The environment's key (sha256 hex of its Python version and sorted packages).")
    spec = _body_param("environment", _ref("EnvironmentSpec"), "Python version and packages (name==version).")
    environments("post", "/environments", "createEnvironment",
                 "Start building an environment (202), or find it built already (200); a publish naming it waits for it.",
                 params=[spec], ok=(202, "Building (200: ready already).", _ref("Environment")),
                 errors=[(400, "Not an environment, or a Python this server does not have."), _UNAUTHORIZED,
                         (403, "Needs the Contributor or Owner role.")])
    environments("get", "/environments", "listEnvironments", "List the environments, their state, size and users.",
                 ok=(200, "Every environment.", _array(_ref("Environment"))), errors=[_UNAUTHORIZED])
    environments("get", "/environments/server", "getServerEnvironment",
                 "What a service without an environment runs with: the server's Python and distributions.",
                 ok=(200, "The server's own environment.", _ref("ServerEnvironment")), errors=[_UNAUTHORIZED])
    environments("get", "/environments/{key}", "getEnvironment", "Get one environment (poll it while it builds).",
                 params=[key], ok=(200, "The environment.", _ref("Environment")),
                 errors=[_UNAUTHORIZED, (404, "Environment not found.")])
    environments("delete", "/environments/{key}", "deleteEnvironment", "Delete an environment no service or session uses.",
                 params=[key], ok=(200, "Deleted.", _STRING),
                 errors=[_UNAUTHORIZED, (403, "Needs the Owner role."), (404, "Environment not found."),
                         (409, "A service or session uses it.")])
    for path, _, operation in rows[-7:]:
        assert path.startswith(("/users", "/environments"))
        operation["x-o16n-extension"] = True
    # fmt: on
    return rows


def _runtime_type(description: str, values: list[str], enum_name: str) -> Schema:
    # x-ms-enum names the generated enum class; the names are R Server's so client code stays the same.
    return _prop("string", description, enum=values, **{"x-ms-enum": {"name": enum_name, "modelAsString": False}})


def _core_definitions() -> dict[str, Schema]:
    parameter_definitions = _array(_ref("ParameterDefinition"))
    runtime_default = "Runtime of the code. Defaults to Python on this server."
    return {
        **_auth_definitions(),
        "Error": _object(
            {
                "message": _prop("string", "What went wrong."),
                "link": _prop("string", "Link to more information, if any."),
                "exceptionType": _prop("string", "Category of the error."),
            }
        ),
        "StatusResponse": _object(
            {
                "statusCode": _prop("string", "Overall health.", enum=["pass", "warn", "fail"]),
                "details": _prop("object", "Facts about this component.", additionalProperties={}),
                "components": _prop("object", "Health of the sub-components, by name.", additionalProperties=_ref("StatusResponse")),
            }
        ),
        "ParameterDefinition": _object(
            {
                "name": _prop("string", "Name of the parameter (a Python identifier)."),
                "type": _prop(
                    "string",
                    "Wire type of the parameter.",
                    enum=list(WIRE_TYPES),
                    **{"x-ms-enum": {"name": "type", "modelAsString": True}},
                ),
            },
            required=["name", "type"],
        ),
        "PublishWebServiceRequest": _object(
            {
                "snapshotId": _prop("string", "Snapshot whose workspace and files every execution starts from."),
                "code": _prop("string", "Code run on every request. Required when publishing."),
                "description": _prop("string", "Description of the service."),
                "operationId": _prop("string", "operationId of the consume operation in the service's swagger."),
                "inputParameterDefinitions": {**parameter_definitions, "description": "Inputs, in order."},
                "outputParameterDefinitions": {**parameter_definitions, "description": "Outputs, in order."},
                "runtimeType": {**_runtime_type(runtime_default, ["R", "Python"], "RuntimeType"), "default": "Python"},
                "initCode": _prop("string", "Code run once before the service handles requests."),
                "outputFileNames": _array(_STRING, "Working-directory files returned Base64-encoded in `outputFiles`."),
                "environment": _environment_property(),
            }
        ),
        "WebService": _object(
            {
                "name": _prop("string", "Name of the service."),
                "version": _prop("string", "Version of the service."),
                "versionPublishedBy": _prop("string", "User who published this version."),
                "creationTime": _prop("string", "When this version was published (ISO 8601)."),
                "snapshotId": _prop("string", "Snapshot the service starts from, if any."),
                "runtimeType": _runtime_type("Runtime of the service.", ["R", "Python", "Realtime"], "WebServiceRuntimeType"),
                "initCode": _prop("string", "Code run once before the service handles requests."),
                "code": _prop("string", "Code run on every request."),
                "description": _prop("string", "Description of the service."),
                "operationId": _prop("string", "operationId of the consume operation in the service's swagger."),
                "inputParameterDefinitions": {**parameter_definitions, "description": "Inputs, in order."},
                "outputParameterDefinitions": {**parameter_definitions, "description": "Outputs, in order."},
                "outputFileNames": _array(_STRING, "Working-directory files returned with each result."),
                "myPermissionOnService": _prop("string", "`read/write` if the caller may update or delete the service, else `read only`."),
                "environment": {**_ref("EnvironmentSpec"), "x-o16n-extension": True, "x-nullable": True,
                                "description": "o16n extension: {key, python, packages} of its environment; null: the server's own."},
            },
            required=["name", "version"],
        ),
        "CreateOrUpdateServicePoolRequest": _object(
            {
                "InitialPoolSize": _prop("integer", "Workers started up front; 0 <= InitialPoolSize <= MaxPoolSize.", format="int32"),
                "MaxPoolSize": _prop("integer", "Upper bound on the number of workers.", format="int32"),
            }
        ),
        "ServicePoolStatusResponse": _object(
            {
                "ComputeNodeEndpoint": _prop("string", "Address of the compute node."),
                "Status": _prop("string", "State of the pool on that node.", enum=["Success", "Pending", "NotFound"]),
            }
        ),
        "SwaggerJsonResponse": _prop("object", "A swagger 2.0 document.", additionalProperties={}),
        "Session": _object(
            {
                "id": _prop("string", "Id of the session."),
                "name": _prop("string", "Name of the session."),
                "owner": _prop("string", "User who created the session."),
                "runtimeType": _runtime_type("Runtime of the session.", ["R", "Python"], "RuntimeType"),
            }
        ),
        "CreateSessionRequest": _object(
            {
                "name": _prop("string", "Name of the session."),
                "snapshotId": _prop("string", "Snapshot to load into the new session."),
                "runtimeType": {**_runtime_type(runtime_default, ["R", "Python"], "RuntimeType"), "default": "Python"},
                "environment": _environment_property(),
            }
        ),
        "CreateSessionResponse": _object({"sessionId": _prop("string", "Id of the new session.")}),
        "ExecuteRequest": _object(
            {
                "code": _prop("string", "Code to run."),
                "inputParameters": _array(_ref("WorkspaceObject"), "Objects to set in the workspace before running."),
                "outputParameters": _array(_STRING, "Names of workspace objects to return after running."),
            },
            required=["code"],
        ),
        "ExecuteResponse": _object(
            {
                "success": _prop("boolean", "Whether the code ran without error."),
                "errorMessage": _prop("string", "The error raised, empty on success."),
                "outputParameters": _array(_ref("WorkspaceObject"), "The requested workspace objects."),
                "consoleOutput": _prop("string", "Everything the code printed."),
                "changedFiles": _array(_STRING, "Working-directory files created or modified."),
            }
        ),
        "WorkspaceObject": _object(
            {
                "name": _prop("string", "Name of the object."),
                "value": {"description": "Value of the object, as any JSON value."},
            }
        ),
        "ConsoleOutputResponse": _object({"consoleOutput": _prop("string", "Console output of the current or last execution.")}),
        "Snapshot": _object(
            {
                "id": _prop("string", "Id of the snapshot."),
                "name": _prop("string", "Name of the snapshot."),
                "owner": _prop("string", "User who created the snapshot."),
                "creationTime": _prop("string", "When the snapshot was taken (ISO 8601)."),
                "contentSize": _prop("integer", "Size of the snapshot archive in bytes.", format="int64"),
            }
        ),
        "User": _object(
            {
                "id": _prop("integer", "The user's id: what services, sessions and snapshots are owned under."),
                "username": _prop("string", "Name shown as publisher and owner (unique on this server)."),
                "displayName": _prop("string", "Readable name from the directory or token."),
                "role": _prop("string", "The role in force.", enum=["Owner", "Contributor", "Reader"]),
                "provider": _prop("string", "Where the user signs in.", enum=["local", "ldap", "oidc"]),
                "roleSource": _prop("string", "Where the role came from: set locally, or the directory group / token claim."),
                "externalId": _prop("string", "The provider's immutable id of the user (entryUUID, objectGUID, sub, oid)."),
                "lastRoleCheck": _prop("string", "When the directory groups or token roles were last read (ISO 8601)."),
                "createdAt": _prop("string", "When o16n first saw the user (ISO 8601)."),
            }
        ),
        "CreateSnapshotRequest": _object({"name": _prop("string", "Name of the snapshot.")}),
        **_environment_definitions(),
        "CreateSnapshotResponse": _object({"snapshotId": _prop("string", "Id of the new snapshot.")}),
    }


def _environment_definitions() -> dict[str, Schema]:
    """o16n extensions: service environments (docs/environments.md)."""
    packages = _array(_STRING, "Requirement strings, normally exact pins (name==version); no URLs or paths.")
    spec = _object({"python": _prop("string", "Python version, X.Y or X.Y.Z (one the server has)."), "packages": packages},
                   required=["python"])
    service = _object({"name": _prop("string", "Service name."), "version": _prop("string", "Service version.")})
    return {
        "EnvironmentSpec": {**spec, "x-o16n-extension": True},
        "Environment": {**_object({
            "key": _prop("string", "sha256 hex of the Python version and the sorted packages."),
            "python": _prop("string", "The Python version asked for."),
            "packages": packages,
            "state": _prop("string", "Its state on this node.", enum=["building", "ready", "failed"]),
            "progress": _prop("string", "While building: e.g. `building environment: 14 packages`.", **{"x-nullable": True}),
            "message": _prop("string", "Why the build failed (the resolver's message).", **{"x-nullable": True}),
            "pythonVersion": _prop("string", "The interpreter it runs, X.Y.Z.", **{"x-nullable": True}),
            "sizeBytes": _prop("integer", "Bytes of its files.", format="int64", **{"x-nullable": True}),
            "buildSeconds": _prop("number", "How long its first build took.", **{"x-nullable": True}),
            "services": _array(service, "The service versions that run in it."),
            "createdAt": _prop("string", "When it was first asked for (ISO 8601, UTC)."),
            "lastUsedAt": _prop("string", "When a publish, session or worker last used it (ISO 8601, UTC)."),
        }, required=["key", "python", "packages", "state"]), "x-o16n-extension": True},
        "ServerEnvironment": {**_object({
            "python": _prop("string", "The server's Python version."),
            "packages": _prop("object", "Distribution (normalized name) -> version.", additionalProperties=_STRING),
        }), "x-o16n-extension": True},
    }


def _environment_property() -> Schema:
    return {**_ref("EnvironmentSpec"), "x-o16n-extension": True,
            "description": "o16n extension: the environment to run in (built first); absent or null: the server's own."}


def core_openapi() -> dict[str, Any]:
    """Swagger 2.0 document of the core API, served at `/swagger.json`."""
    paths: dict[str, Schema] = _auth_paths(_AUTH_TAG)
    for path, method, operation in _core_operations():
        paths.setdefault(path, {})[method] = operation
    document = {
        "swagger": "2.0",
        "info": {
            "title": "o16n",
            "version": __version__,
            "description": "Publish Python code and models as versioned REST web services, run interactive "
            "sessions and manage snapshots. Wire-compatible with the Microsoft R Server 9.1 operationalization API.",
        },
        "schemes": ["http", "https"],
        "consumes": [_JSON],
        "produces": [_JSON],
        "tags": [{"name": name, "description": description} for name, description in _CORE_TAGS],
        "securityDefinitions": _SECURITY_DEFINITIONS,
        "paths": paths,
        "definitions": _core_definitions(),
    }
    return _fresh(document)
