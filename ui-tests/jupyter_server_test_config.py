"""Jupyter server configuration for the galata (Playwright) tests of jupyterlab-o16n.

Opens JupyterLab on port 8888 without token in a throwaway root folder. Never use it in production.
"""

import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 - `c` is the config object Jupyter passes in

c.ServerApp.allow_root = True  # noqa: F821 - the test machines run as root
c.LanguageServerManager.autodetect = False  # noqa: F821 - not needed, saves start-up time

# The o16n server extension (embedded o16n server) when it is installed.
try:
    import o16n.jupyter  # noqa: F401

    c.ServerApp.jpserver_extensions.update({"o16n.jupyter": True})  # noqa: F821
    # The embedded server of the tests keeps its data apart from the user's own.
    c.O16n.data_dir = tempfile.mkdtemp(prefix="o16n-ui-tests-")  # noqa: F821
except ImportError:
    pass
