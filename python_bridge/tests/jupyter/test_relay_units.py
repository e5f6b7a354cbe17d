"""The relay's pieces without a Jupyter server: login states, the one error mapping, request bodies,
publish jobs on disk, the embedded server's port."""

from __future__ import annotations

import json
import re
import socket
import stat

import pytest

from o16n.client.errors import InvalidInput, NotFound, ServerError
from o16n.jupyter.bodies import AnalyzeRequest, KernelTestRequest, PublishRequest
from o16n.jupyter.connection import (
    ConnectionState,
    DeviceCodeIssued,
    LoggedIn,
    LoggedOut,
    Login,
    LoginFailed,
    LoginStarted,
    transition,
)
from o16n.jupyter.embedded import stable_port
from o16n.jupyter.errors import KernelCodeFailed, KernelUnavailable, RelayError, relay_error, server_field
from o16n.jupyter.jobs import JobStore, PublishJob
from o16n.jupyter.oidc import Issuer, OidcConfigError, OidcSettings, SignInError, next_interval


# ---------------------------------------------------------------- login states
def test_transitions():
    start = ConnectionState(Login.STARTING, None, "the embedded o16n server is starting")
    logged_in = transition(start, LoggedIn("admin"))
    assert logged_in == ConnectionState(Login.LOGGED_IN, "admin")
    assert transition(logged_in, LoginStarted("again")) is logged_in  # keeps the grant until a new one works
    out = transition(logged_in, LoggedOut("not logged in"))
    assert out == ConnectionState(Login.LOGGED_OUT, None, "not logged in")
    failed = transition(out, LoginFailed("cannot log in: bad password"))
    assert failed.login == Login.FAILED and failed.message == "cannot log in: bad password"
    assert transition(failed, LoginStarted("logging in")).login == Login.STARTING
    assert transition(failed, LoggedIn("bob")).username == "bob"


def test_device_sign_in_transitions():
    prompt = {"userCode": "ABCD-EFGH", "verificationUri": "https://login.example/device"}
    logged_in = ConnectionState(Login.LOGGED_IN, "admin")
    waiting = transition(logged_in, DeviceCodeIssued(prompt, "open https://login.example/device"))
    assert waiting == ConnectionState(Login.WAITING_DEVICE, None, "open https://login.example/device", prompt)
    assert waiting.login.value == "waiting for device sign-in"
    assert transition(waiting, LoggedIn("alice")) == ConnectionState(Login.LOGGED_IN, "alice")  # the prompt goes
    assert transition(waiting, LoginFailed("expired")).device is None
    assert transition(waiting, LoggedOut("not logged in")).device is None


# ---------------------------------------------------------------- OpenID Connect settings and answers
def test_next_poll_interval_follows_rfc_8628():
    assert next_interval(5, "authorization_pending") == 5
    assert next_interval(5, "slow_down") == 10 and next_interval(58, "slow_down") == 60
    assert next_interval(4, "unreachable") == 8


@pytest.mark.parametrize(("traits", "words"), [
    ({"flow": "implicit"}, "c.O16n.oidc_flow: 'implicit' is not a flow"),
    ({"issuer": ""}, "c.O16n.oidc_issuer is required"),
    ({"issuer": "http://login.example.com"}, "must be an https URL"),
    ({"client_id": " "}, "c.O16n.oidc_client_id is required"),
    ({"client_secret": ""}, "needs c.O16n.oidc_client_secret_file"),
    ({"client_secret_file": "/nonexistent/secret"}, "give c.O16n.oidc_client_secret or c.O16n.oidc_client_secret_file, not both"),
    ({"client_secret": "", "client_secret_file": "/nonexistent/secret"},
     "c.O16n.oidc_client_secret_file: cannot read /nonexistent/secret"),
    ({"auth_method": "private_key_jwt"}, "c.O16n.oidc_client_auth_method"),
])
def test_oidc_settings_name_the_bad_trait(traits, words):
    good = {"flow": "client_credentials", "issuer": "https://login.example.com/tenant/v2.0", "client_id": "app",
            "client_secret": "the-Secret-42"}
    with pytest.raises(OidcConfigError, match=re.escape(words)):
        OidcSettings.from_traits(**{**good, **traits})
    assert "the-Secret-42" not in repr(OidcSettings.from_traits(**good))


def test_the_relay_talks_to_the_issuers_host_only(monkeypatch):
    import httpx

    issuer = "https://login.example.com/tenant"
    document = {"issuer": issuer, "token_endpoint": "https://evil.example.net/token"}
    settings = OidcSettings.from_traits(flow="device_code", issuer=issuer, client_id="lab")
    found = Issuer(settings)
    found.http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=document)))
    with pytest.raises(SignInError, match="is not on the issuer's host"):
        found.endpoint("token_endpoint")
    document.update(token_endpoint=issuer + "/token", device_authorization_endpoint=issuer + "/devicecode")
    found._endpoints = None
    assert found.endpoint("token_endpoint") == issuer + "/token"
    # a verification URI the lab would show as a link must be a web address
    answer = {"device_code": "d", "user_code": "U", "verification_uri": "javascript:alert(1)", "expires_in": 60}
    found.http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer)))
    with pytest.raises(SignInError, match="verification_uri is not a web address"):
        found.start_device()


# ---------------------------------------------------------------- one error mapping
@pytest.mark.parametrize(("server", "message", "where", "relay"), [
    ("inputParameterDefinitions", "'inputParameterDefinitions' declares 'x' twice", "publish", "inputs"),
    ("inputParameterDefinitions", "'inputParameterDefinitions[2].type': unknown parameter type", "publish", "inputs.2"),
    ("outputParameterDefinitions", "'outputParameterDefinitions[0].name' must be ...", "publish", "outputs.0"),
    ("snapshotId", "'snapshotId' x is not one of your snapshots", "publish", "objects"),
    ("code", "'code' has a syntax error", "publish", "code"),
    ("InitCode", "'initCode' has a syntax error", "publish", "initCode"),
    ("runtimeType", "R is not available", "publish", None),
    ("MaxPoolSize", "bad", "publish", None),
    ("x", "input 'x' must be a number", "consume", "inputs.x"),
    ("body", "the body is nested too deeply", "consume", "inputs"),
    ("x", "item 3: input 'x' must be a number", "batch", "records.3"),
])
def test_server_fields_become_the_relay_requests_fields(server, message, where, relay):
    assert server_field(server, message, where) == relay
    error = relay_error(InvalidInput(message, status=400, field=server), "http://o16n", where)
    assert error.status == 400 and error.field == relay
    assert "ParameterDefinitions" not in error.message


def test_every_failure_has_one_answer():
    assert relay_error(RelayError(409, "busy", "kernelId")).to_json() == {"message": "busy", "field": "kernelId", "step": None}
    assert relay_error(KernelUnavailable("there is no kernel k", 404)).field == "kernelId"
    assert relay_error(KernelCodeFailed("ImportError: dill")).status == 500
    unreachable = relay_error(ServerError("connection refused"), "http://127.0.0.1:9")
    assert unreachable.status == 502 and "cannot reach the o16n server at http://127.0.0.1:9" in unreachable.message
    assert relay_error(NotFound("no such service", status=404)).status == 404
    assert relay_error(ValueError("odd")).status == 500


# ---------------------------------------------------------------- bodies
def test_publish_body_rules():
    ok = PublishRequest.parse({"kernelId": "k", "name": "9lives", "version": "v1.0", "functionName": "f",
                               "objects": ["clf"], "notebook": "work/iris.ipynb",
                               "inputs": [{"name": "x", "type": "pd.DataFrame"}]})
    assert ok.inputs == [{"name": "x", "type": "data.frame"}] and ok.notebook == "work/iris.ipynb"
    assert PublishRequest.from_json(ok.to_json()) == ok
    for body, field in [({"kernelId": "k", "name": "a/b", "code": "x"}, "name"),
                        ({"kernelId": "k", "name": "n", "version": "v\n", "code": "x"}, "version"),
                        ({"kernelId": "k", "name": "n", "code": "x", "inputs": [{"name": "x", "type": "numeric"},
                                                                              {"name": "1y", "type": "numeric"}]}, "inputs.1"),
                        ({"kernelId": "k", "name": "n", "code": "x", "operationId": "a b"}, "operationId")]:
        with pytest.raises(RelayError) as refused:
            PublishRequest.parse(body)
        assert refused.value.field == field


def test_analyze_and_test_bodies():
    assert AnalyzeRequest.parse({"code": "y = x"}).to_kernel()["wire"] is True
    assert AnalyzeRequest.parse({"functionName": "f", "objects": ["clf"]}).objects == ["clf"]
    rows = KernelTestRequest.parse({"code": "y = x", "inputs": [{"name": "x", "type": "int", "value": 2.0},
                                                                {"name": "df", "type": "dataframe", "value": [{"a": 1}]}],
                                    "outputs": [{"name": "y", "type": "float"}]})
    assert rows.inputs == {"x": 2, "df": {"a": [1]}} and rows.input_types == {"x": "integer", "df": "data.frame"}
    assert rows.outputs == [{"name": "y", "type": "numeric"}]
    with pytest.raises(RelayError) as refused:
        KernelTestRequest.parse({"code": "y", "inputs": [{"name": "x", "type": "integer", "value": 1.5}]})
    assert refused.value.field == "inputs.0"


# ---------------------------------------------------------------- jobs on disk, the port
def test_jobs_survive_on_disk_and_an_interrupted_one_fails(tmp_path):
    store = JobStore(tmp_path / "jobs")
    job = PublishJob(PublishRequest.parse({"kernelId": "k", "name": "n", "code": "y = 1", "notebook": "a.ipynb"}))
    job.begin("upload")
    job.created["session"] = "S1"
    store.save(job)
    assert stat.S_IMODE((tmp_path / "jobs" / f"{job.id}.json").stat().st_mode) == 0o600
    (tmp_path / "jobs" / "torn.json").write_text("{")
    [again] = store.load()
    assert again.id == job.id and again.state == "failed" and again.error["step"] == "upload"
    assert "JupyterLab stopped" in again.error["message"] and again.cleanup_pending
    assert again.steps["cleanup"].state == "pending" and again.created == {"session": "S1"}
    assert json.loads((tmp_path / "jobs" / f"{job.id}.json").read_text())["state"] == "failed"


def test_the_embedded_port_is_kept_when_free(tmp_path):
    first = stable_port(tmp_path)
    assert stable_port(tmp_path) == first
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", first))
        busy.listen()
        other = stable_port(tmp_path)
        assert other != first
    assert stable_port(tmp_path) == other  # the new one is remembered
