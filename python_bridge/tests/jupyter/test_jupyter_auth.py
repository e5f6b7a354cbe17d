"""Every /o16n/ route refuses requests without Jupyter's authentication (and XSRF for cookies)."""

from __future__ import annotations

import re

import pytest
from tornado.httpclient import HTTPClientError

from o16n.jupyter.handlers import HANDLERS

ROUTES = [
    ("GET", "o16n/status"), ("POST", "o16n/login"), ("POST", "o16n/logout"), ("GET", "o16n/services"),
    ("GET", "o16n/services/a/1"), ("PATCH", "o16n/services/a/1"), ("DELETE", "o16n/services/a/1"),
    ("GET", "o16n/services/a/1/swagger"), ("POST", "o16n/services/a/1/consume"),
    ("POST", "o16n/services/a/1/batch"), ("GET", "o16n/services/a/1/batch/x"),
    ("DELETE", "o16n/services/a/1/batch/x"), ("GET", "o16n/kernels/k/namespace"),
    ("POST", "o16n/kernels/k/analyze"), ("POST", "o16n/kernels/k/test"),
    ("POST", "o16n/publish"), ("GET", "o16n/publish"), ("GET", "o16n/publish/j"), ("GET", "o16n/environments"),
]


def test_every_route_is_in_the_inventory():
    """Each handler method is covered by ROUTES (so by the auth test), and ROUTES has nothing stale."""
    served = set()
    for pattern, handler in HANDLERS:
        for method in ("get", "post", "put", "patch", "delete"):
            if method in vars(handler):
                covered = [(m, p) for m, p in ROUTES if m == method.upper() and re.fullmatch(pattern, "/" + p)]
                assert covered, f"{method.upper()} {pattern} is not in ROUTES"
                served.update(covered)
    assert served == set(ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("auth", ["none", "bad-token"])
async def test_refused_without_jupyter_auth(jp_fetch, method, path, auth):
    headers = {"Authorization": ""} if auth == "none" else {"Authorization": "token not-the-token"}
    kw = {"body": "{}"} if method in ("POST", "PATCH") else {}
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(*path.split("/"), method=method, headers=headers, follow_redirects=False,
                       allow_nonstandard_methods=True, **kw)
    assert refused.value.code in (401, 403)


async def test_cookie_auth_needs_xsrf(jp_fetch, jp_serverapp):
    """With a login cookie (as the browser has), a POST without the _xsrf token is refused."""
    token = jp_serverapp.identity_provider.token
    page = await jp_fetch("login", headers={"Authorization": ""})
    xsrf = [c.split(";")[0] for c in page.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")][0]
    response = await jp_fetch("login", method="POST", body=f"password={token}&{xsrf}",
                              headers={"Authorization": "", "Cookie": xsrf}, follow_redirects=False, raise_error=False)
    login = [c.split(";")[0] for c in response.headers.get_list("Set-Cookie") if c.startswith("username-")]
    assert login, response.code
    cookies = f"{xsrf}; {login[0]}"
    # GET with the cookie alone works (status never needs the o16n server to be up) ...
    ok = await jp_fetch("o16n", "status", headers={"Authorization": "", "Cookie": cookies})
    assert ok.code == 200
    # ... a POST without the _xsrf argument/header is refused
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("o16n", "logout", method="POST", body="{}", headers={"Authorization": "", "Cookie": cookies})
    assert refused.value.code == 403
    # ... and accepted with it, as JupyterLab sends it
    accepted = await jp_fetch("o16n", "logout", method="POST", body="{}",
                              headers={"Authorization": "", "Cookie": cookies, "X-XSRFToken": xsrf.split("=", 1)[1]})
    assert accepted.code == 200


@pytest.mark.parametrize("path", ["o16n/services/%2E%2E/1", "o16n/services/a/%2E%2E", "o16n/services/a/1/batch/%2E%2E",
                                  "o16n/kernels/%2E%2E/namespace"])
async def test_dot_segments_are_not_passed_on(jp_serverapp, http_server_client, jp_base_url, jp_auth_header, path):
    """Names become path segments on the o16n server: '..' must not climb to another route there."""
    with pytest.raises(HTTPClientError) as refused:  # raw URL: jp_fetch would escape the '%'
        await http_server_client.fetch(jp_base_url + path, headers=jp_auth_header)
    assert refused.value.code == 400
