"""Write the wire vocabulary as JSON for the lab extension: `python3 export.py OUT.json`.

The lab imports the file as `src/generated/wire.json` (written by the npm script `build:wire`),
so its type list and name rule are this package's, never a copy kept by hand. Runs from a source
checkout without o16n installed (standard library only): as a script it loads its sibling modules
under a private package name.
"""

from __future__ import annotations

import os
import sys

# Run as a script, Python puts this folder first on sys.path, where types.py would shadow the
# standard library's `types` (imported by importlib.util below on interpreters that have not
# loaded it at start-up, e.g. a venv's python): take the folder out before importing anything.
if sys.path and os.path.realpath(sys.path[0] or os.curdir) == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]

import importlib.util  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def vocabulary() -> dict[str, Any]:
    """The JSON document described in docs/wire.md ("The generated type list")."""
    types, names = _modules()
    return {
        "wireTypes": list(types.WIRE_TYPES),
        "aliases": {spelling: wire for spelling, (wire, _) in sorted(types.SPELLINGS.items()) if spelling != wire},
        "pythonNames": dict(types.PYTHON_NAMES),
        "namePattern": "^" + names.NAME_PATTERN.pattern + "$",
        "nameRule": names.NAME_RULE,
        "identifierRule": "a Python identifier",
    }


def _modules() -> tuple[Any, Any]:
    if __package__:  # imported as o16n.wire.export
        from . import names, types
        return types, names
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location("_o16n_wire_export", here / "__init__.py",
                                                  submodule_search_locations=[str(here)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)
    return importlib.import_module(spec.name + ".types"), importlib.import_module(spec.name + ".names")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: export.py OUT.json", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(vocabulary(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
