"""o16n's Jupyter server extension: the /o16n/ REST API the JupyterLab extension talks to.

Enabled by the ``jupyter-config/jupyter_server_config.d/o16n.json`` file installed with the wheel
(``{"ServerApp": {"jpserver_extensions": {"o16n.jupyter": true}}}``). Configuration: ``c.O16n.*``
(see `o16n.jupyter.app.O16n`). Importing this package stays cheap: Jupyter is imported only when
the extension is loaded.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import O16n

    return [{"module": "o16n.jupyter", "app": O16n}]
