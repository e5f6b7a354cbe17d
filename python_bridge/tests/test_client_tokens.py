"""`connect(url, token_provider=...)`: bearer tokens from an identity provider.

What a provider may answer and the token command are checked on their own; then the client runs
against a real o16n server that accepts OpenID Connect tokens, with tokens the real provider
(node-oidc-provider, oidc_server.py) issues through the client-credentials grant: every kind of
call (consume, publish with objects, batch, sessions), a token that expires during the test is
renewed by asking the provider again, before expiry or after a 401, and a provider that raises is
a clear TokenProviderError.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from oidc_server import OidcProvider
from server_process import LiveServer

from o16n.client import (
    AuthenticationError,
    BearerToken,
    InvalidInput,
    PermissionDenied,
    TokenCommand,
    TokenProviderError,
    connect,
)
from o16n.client.tokens import bearer_token, hide_tokens, jwt_expiry


def fake_jwt(**claims: Any) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.c2ln"


# ====================================================================== what a provider may answer
def test_a_jwt_string_expires_at_its_exp_claim():
    token = fake_jwt(exp=2_000_000_000)
    assert jwt_expiry(token) == 2_000_000_000
    assert bearer_token(token) == BearerToken(token, 2_000_000_000)
    assert bearer_token("opaque-token") == BearerToken("opaque-token", None)  # kept until refused


def test_a_tuple_is_token_and_expires_on_like_azure_identity():
    assert bearer_token(("tok", 1234)) == BearerToken("tok", 1234.0)
    assert bearer_token(("tok", None)) == BearerToken("tok", None)
    assert bearer_token(BearerToken("tok", 5)) == BearerToken("tok", 5.0)


def test_a_dict_with_expires_in_or_expires_on():
    assert bearer_token({"access_token": "tok", "expires_in": 60}, now=1000) == ("tok", 1060)
    assert bearer_token({"access_token": "tok", "expires_on": "1500"}, now=1000) == ("tok", 1500)
    # both: the earlier wins (a lifetime is immune to clock skew)
    assert bearer_token({"access_token": "tok", "expires_on": 5000, "expires_in": 60}, now=1000) == ("tok", 1060)
    jwt_token = fake_jwt(exp=4242)
    assert bearer_token({"access_token": jwt_token}) == (jwt_token, 4242)


@pytest.mark.parametrize("answer, words", [
    ({"error": "invalid_client", "error_description": "client authentication failed"},
     "answered an error: invalid_client: client authentication failed"),
    ({"token": "x"}, "has no access_token"),
    ({"access_token": "tok", "expires_in": "soon"}, "expires_in is not a number"),
    ("", "empty token"),
    ("two words", "blanks"),
    (None, "returned a NoneType"),
    (42, "returned a int"),
])
def test_unusable_answers_are_named(answer, words):
    with pytest.raises(TokenProviderError, match=words):
        bearer_token(answer)


def test_tokens_are_never_shown():
    token = fake_jwt(exp=1)
    assert token not in repr(BearerToken(token, 1))
    assert hide_tokens(f"debug: got {token} from cache") == "debug: got [token hidden] from cache"


# ====================================================================== the token command
def script(tmp_path, body: str) -> str:
    path = tmp_path / "token_script.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def test_a_command_printing_the_token(tmp_path):
    token = fake_jwt(exp=3000)
    assert TokenCommand(script(tmp_path, f"print({token!r})"))() == (token, 3000)


def test_a_command_printing_json(tmp_path):
    got = TokenCommand(script(tmp_path, 'import json; print(json.dumps({"access_token": "tok", "expires_in": 30}))'))()
    assert got.access_token == "tok" and got.expires_on == pytest.approx(time.time() + 30, abs=5)


def test_a_failing_command_names_the_exit_code_and_stderr_but_no_token(tmp_path):
    token = fake_jwt(exp=1)
    command = TokenCommand(script(tmp_path, (
        "import sys\n"
        f"print({token!r})\n"  # on stdout: never shown for a failed command
        f"print('line 1\\nrefreshing {token}\\nAADSTS700016: application not found', file=sys.stderr)\n"
        "sys.exit(3)\n")) + " --client-secret s3cret")
    with pytest.raises(TokenProviderError) as failed:
        command()
    message = str(failed.value)
    assert f"the token command {sys.executable!r} exited with code 3" in message
    assert message.endswith("refreshing [token hidden]\nAADSTS700016: application not found")
    assert token not in message and "s3cret" not in message  # the arguments are not repeated either


@pytest.mark.parametrize("body, words", [
    ("print('one\\ntwo')", "several words or lines"),
    ("pass", "printed nothing on stdout"),
    ("print('{not json')", "starts like JSON but is not JSON"),
    ("import time; time.sleep(5)", "did not finish within 1 s"),
])
def test_command_output_that_is_no_token(tmp_path, body, words):
    with pytest.raises(TokenProviderError, match=words):
        TokenCommand(script(tmp_path, body), timeout=1)()


def test_a_missing_program_and_the_shell(tmp_path):
    with pytest.raises(TokenProviderError, match="'no-such-token-program' was not found"):
        TokenCommand("no-such-token-program --flag")()
    # no shell unless asked: '|' is an argument, not a pipe
    piped = script(tmp_path, "import sys; print(len(sys.argv))") + " | cat"
    assert TokenCommand(piped)().access_token == "3"
    assert TokenCommand(script(tmp_path, "print('tok')") + " | tr t T", shell=True)().access_token == "Tok"
    with pytest.raises(ValueError, match="empty"):
        TokenCommand("  ")


# ====================================================================== the transport, on a fake wire
class Recorder:
    """An o16n stand-in that accepts the tokens in `valid` and records what it was sent."""

    def __init__(self) -> None:
        self.valid: set[str] = set()
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.seen.append(token)
        if token not in self.valid:
            return httpx.Response(401, json={"message": "the token has expired"},
                                  headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return httpx.Response(200, json={"statusCode": "pass"})


def counting(answers: list[object]) -> tuple[Callable[[], object], list[int]]:
    calls = [0]

    def provider() -> object:
        calls[0] += 1
        answer = answers[min(calls[0], len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer
    return provider, calls


def test_asked_at_connect_near_expiry_and_after_a_401():
    wire = Recorder()
    wire.valid = {"t1", "t2", "t3"}
    soon = time.time() + 0.4  # within the renewal margin: asked again before the next call
    provider, calls = counting([("t1", soon), {"access_token": "t2"}, "t3"])
    client = connect("http://o16n.test", token_provider=provider, transport=httpx.MockTransport(wire))
    assert calls[0] == 1
    assert client.status() == {"statusCode": "pass"} and calls[0] == 2 and wire.seen[-1] == "t2"
    assert client.status() and calls[0] == 2  # t2's expiry is unknown: used until refused
    wire.valid.discard("t2")
    assert client.status() and calls[0] == 3 and wire.seen[-2:] == ["t2", "t3"]  # one retry with the new token
    client.close()


def test_a_refused_token_that_the_provider_gives_again_is_the_servers_401():
    wire = Recorder()
    provider, calls = counting(["same"])
    client = connect("http://o16n.test", token_provider=provider, transport=httpx.MockTransport(wire))
    with pytest.raises(AuthenticationError, match="the token has expired"):
        client.status()
    assert calls[0] == 2 and wire.seen == ["same"]  # not sent twice


def test_a_provider_that_raises():
    provider, _ = counting([RuntimeError("no cached account: sign in first")])
    with pytest.raises(TokenProviderError, match="the token provider failed: RuntimeError: no cached account"):
        connect("http://o16n.test", token_provider=provider, transport=httpx.MockTransport(Recorder()))
    leaky, _ = counting([RuntimeError(f"cached token {fake_jwt(exp=1)} was rejected")])
    with pytest.raises(TokenProviderError, match=r"cached token \[token hidden\] was rejected"):
        connect("http://o16n.test", token_provider=leaky, transport=httpx.MockTransport(Recorder()))
    with pytest.raises(InvalidInput, match="token_provider alone"):
        connect("http://o16n.test", token="x", token_provider=provider)


# ====================================================================== a real o16n server and provider
@pytest.fixture
def oidc_server(oidc_o16n: LiveServer) -> LiveServer:
    return oidc_o16n


def provider_of(oidc: OidcProvider, client_id: str, resource: str = "urn:o16n:rs256",
                shape: Callable[[dict[str, Any]], object] = lambda answer: answer) -> tuple[Callable[[], object], list[int]]:
    """A token provider fetching client-credentials tokens from the real provider; counts its calls."""
    calls = [0]

    def fetch() -> object:
        calls[0] += 1
        return shape(oidc.token_response(client_id, resource))
    return fetch, calls


def add(a: int, b: int) -> int:
    return a + b + offset  # noqa: F821 - `offset` is an object shipped with the service


def test_every_kind_of_call_with_provider_tokens(oidc_server, oidc_provider):
    fetch, calls = provider_of(oidc_provider, "contrib-app")
    name = f"TokenProvided{int(time.time() * 1000) % 10**8}"
    with connect(oidc_server.url, token_provider=fetch) as client:
        me = client.me()
        assert (me["username"], me["role"], me["provider"]) == ("contrib-app@example.org", "Contributor", "oidc")
        service = client.service(name).version("v1").code_fn(add).objects(offset=100).deploy()  # session + snapshot
        assert service(1, 2).output() == 103
        assert client.consume(name, "v1", {"a": 2, "b": 2}).output() == 104
        batch = service.batch([{"a": 1, "b": 1}, {"a": 5, "b": 5}]).start().wait(timeout=120, progress=False)
        assert batch.outputs() == [102, 110]
        with client.create_session() as session:
            session.put_object("base", 40)
            assert session.execute("total = base + 2", outputs=["total"]).outputs["total"] == 42
        assert client.get_service(name, "v1").published_by == "contrib-app@example.org"
        client.delete_service(name, "v1")
    assert calls[0] == 1  # a 600 s token: asked once


@pytest.mark.parametrize("shape", ["dict", "jwt string"])
def test_a_token_expiring_during_the_test_is_renewed_before_it_expires(oidc_server, oidc_provider, shape):
    # urn:o16n:short tokens live 2 s; the client asks again shortly before, so no call sees a 401
    as_given: Callable[[dict[str, Any]], object] = (lambda a: a) if shape == "dict" else (lambda a: a["access_token"])
    fetch, calls = provider_of(oidc_provider, "reader-app", "urn:o16n:short", as_given)
    refused: list[int] = []
    with connect(oidc_server.url, token_provider=fetch) as client:
        client._transport.http.event_hooks["response"].append(
            lambda r: refused.append(1) if r.status_code == 401 else None)
        for _ in range(6):  # 6 s: three 2-second tokens at least
            assert client.list_services() is not None
            time.sleep(1)
    assert calls[0] >= 3 and not refused


def test_a_token_of_unknown_lifetime_is_renewed_after_the_401(oidc_server, oidc_provider):
    fetch, calls = provider_of(oidc_provider, "reader-app", "urn:o16n:short", lambda a: (a["access_token"], None))
    with connect(oidc_server.url, token_provider=fetch) as client:
        assert client.me()["role"] == "Reader"
        time.sleep(4)  # expired, and past the server's leeway
        assert client.me()["role"] == "Reader"
    assert calls[0] == 2


def test_a_provider_that_fails_later_and_a_token_without_a_role(oidc_server, oidc_provider):
    fetch, calls = provider_of(oidc_provider, "reader-app", "urn:o16n:short")

    def flaky() -> object:
        if calls[0] >= 1:
            raise ConnectionError("the identity provider is down")
        return fetch()
    client = connect(oidc_server.url, token_provider=flaky)
    time.sleep(2.5)
    with pytest.raises(TokenProviderError, match="the token provider failed: ConnectionError: the identity provider is down"):
        client.list_services()
    client.close()
    nobody, _ = provider_of(oidc_provider, "nobody-app")
    with connect(oidc_server.url, token_provider=nobody) as client:
        with pytest.raises(PermissionDenied, match="mapped to an o16n role"):
            client.list_services()
