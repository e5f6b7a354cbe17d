"""/realtime-services: model-only services, 9.1's multipart form (docs/realtime.md).

`POST /realtime-services/{name}[/{version}]` and `PATCH /realtime-services/{name}/{version}` take
`multipart/form-data` with `model` (the ONNX file), `description` and `operationId`; they answer
like the standard publish and patch (201 / 200 with the consume path as a JSON string). Roles and
versioning are the standard services' (the catalog applies them). A model that is not a usable
ONNX file (revoscalepy's `blob` format included) is a 400 naming why, with field `model`.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..domain.realtime import RealtimeDefinition
from ..domain.requests import check_name
from ..errors import BadRequest
from ..http import text_response
from ..middleware import caller_of
from ..state import state_of

MAX_TEXT_FIELD = 64 * 1024  # description and operationId


async def _definition(request: Request, *, partial: bool) -> RealtimeDefinition:
    """The form's fields; a 400 naming the field for anything that does not fit."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest("send the realtime service as multipart/form-data with the ONNX file in the field 'model' "
                         "(and optional 'description', 'operationId')", field="model")
    max_bytes = state_of(request).settings.max_model_bytes
    try:
        form = await request.form(max_files=1, max_fields=16, max_part_size=MAX_TEXT_FIELD)
    except Exception as exc:  # starlette's MultiPartException and the parser's own errors
        raise BadRequest(f"the multipart form could not be read: {exc}", field="model") from None
    try:
        fields = {key.lower(): value for key, value in form.multi_items()}
        return RealtimeDefinition.of(await _model_bytes(form, fields, max_bytes), _text(fields, "description"),
                                     _text(fields, "operationid"), partial=partial)
    finally:
        await form.close()


async def _model_bytes(form: FormData, fields: dict[str, UploadFile | str], max_bytes: int) -> bytes | None:
    value = fields.get("model")
    if value is None:
        return None
    if isinstance(value, str):  # a text field, not a file: not an ONNX model (check_model says so)
        return value.encode()
    if value.size is not None and value.size > max_bytes:
        raise BadRequest(f"'model' is {value.size} bytes; this server takes models up to {max_bytes} bytes "
                         "(max_model_bytes)", field="model")
    data = await value.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadRequest(f"'model' is larger than {max_bytes} bytes, the most this server takes (max_model_bytes)",
                         field="model")
    return data


def _text(fields: dict[str, UploadFile | str], key: str) -> str | None:
    value = fields.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BadRequest(f"'{'operationId' if key == 'operationid' else key}' must be a text field, not a file", field=key)


async def publish(request: Request) -> Response:
    caller = caller_of(request)
    caller.require_publisher("publishing")
    name = check_name(request.path_params["name"], "name")
    version = check_name(request.path_params["version"], "version") if "version" in request.path_params else None
    definition = await _definition(request, partial=False)
    version = await state_of(request).catalog.publish_realtime(caller, name, version, definition)
    return text_response(f"/api/{name}/{version}", 201)


async def patch(request: Request) -> Response:
    p = request.path_params
    definition = await _definition(request, partial=True)
    await state_of(request).catalog.patch_realtime(caller_of(request), p["name"], p["version"], definition)
    return text_response(f"/api/{p['name']}/{p['version']}")


routes = [
    Route("/realtime-services/{name}", publish, methods=["POST"]),
    Route("/realtime-services/{name}/{version}", publish, methods=["POST"]),
    Route("/realtime-services/{name}/{version}", patch, methods=["PATCH"]),
]
