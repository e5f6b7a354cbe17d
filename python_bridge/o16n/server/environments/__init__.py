"""Service environments: a virtual environment per Python version + pins, built once with uv.

`spec.py` (what is asked, its key), `builder.py` (uv, the directories of this node; no database),
`service.py` (the domain side: rows, one build per key, publish waits, pruning). docs/environments.md
says how it works.
"""
