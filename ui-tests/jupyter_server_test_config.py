"""Jupyter server configuration for the galata (Playwright) tests of jupyterlab-o16n.

Opens JupyterLab on port 8888 without token in a throwaway root folder. Never use it in production.
The restart test starts a second JupyterLab with O16N_UI_PORT (its port) and O16N_UI_STATE_DIR (a
folder holding its root, workspaces and embedded o16n data, kept across its restarts).
O16N_UI_OIDC (JSON) holds c.O16n settings for a remote server with OpenID Connect sign-in
(oidc_stack.py, for the device sign-in test).
"""

import json
import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 - `c` is the config object Jupyter passes in

c.ServerApp.allow_root = True  # noqa: F821 - the test machines run as root
c.LanguageServerManager.autodetect = False  # noqa: F821 - not needed, saves start-up time

state_dir = os.environ.get("O16N_UI_STATE_DIR")
if os.environ.get("O16N_UI_PORT"):
    c.ServerApp.port = int(os.environ["O16N_UI_PORT"])  # noqa: F821
if state_dir:
    for sub in ("root", "workspaces", "o16n"):
        os.makedirs(os.path.join(state_dir, sub), exist_ok=True)
    c.ServerApp.root_dir = os.path.join(state_dir, "root")  # noqa: F821
    c.LabApp.workspaces_dir = os.path.join(state_dir, "workspaces")  # noqa: F821

# The o16n server extension (embedded o16n server) when it is installed.
try:
    import o16n.jupyter  # noqa: F401

    c.ServerApp.jpserver_extensions.update({"o16n.jupyter": True})  # noqa: F821
    # The embedded server of the tests keeps its data apart from the user's own.
    c.O16n.data_dir = os.path.join(state_dir, "o16n") if state_dir else tempfile.mkdtemp(prefix="o16n-ui-tests-")  # noqa: F821
    for trait, value in json.loads(os.environ.get("O16N_UI_OIDC") or "{}").items():
        setattr(c.O16n, trait, value)  # noqa: F821
except ImportError:
    pass
