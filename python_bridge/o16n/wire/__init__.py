"""The one vocabulary shared by the server, the worker, the client, the relay and the lab:

- `types`: the parameter types and every spelling accepted for them (one table);
- `values`: checking JSON inputs against their types, and the one Python -> JSON conversion;
- `jsonio`: parsing request bodies that cannot hurt (bounded nesting, finite numbers);
- `binding`: how a published function receives its inputs and returns its outputs;
- `names`: the one rule for service names and versions;
- `errors`: the exception tree (every error names its field);
- `export`: the vocabulary as JSON for the lab extension.

Standard library only: the worker imports it inside its sandbox, and the relay sends its source
into notebook kernels that may not have o16n installed. docs/wire.md describes it for users.
"""
