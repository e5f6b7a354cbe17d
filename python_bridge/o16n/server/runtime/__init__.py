"""The worker runtime: sandboxed worker processes (where user code runs, never in the server
process), service pools, session workers, and the typed protocol between server and worker.

`node.Runtime` builds the pieces for one server. This file imports nothing: the worker process
imports `o16n.server.runtime.worker`, and must not pay for the server's side on every start.
"""
