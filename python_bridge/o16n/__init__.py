"""o16n: publish Python code and models as versioned REST web services.

`%load_ext o16n` in IPython loads the `%o16n` magics; `o16n.client` is the Python client.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:  # noqa: ANN001 - IPython's shell
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt lab extension."""
    return [{"src": "labextension", "dest": "jupyterlab-o16n"}]
