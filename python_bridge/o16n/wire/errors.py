"""The wire's one exception tree. Every error names the field (input, parameter list, name) at fault.

    WireError(ValueError)       anything a wire check refuses; `.field` names what is at fault
    ├── ParameterTypeError      a declared type that is neither a wire name nor a known alias
    └── InputError              a value (consume input, definition list) that does not fit its declaration

The server turns a WireError into a 400 whose `fields` is `.field`; the client raises it before
sending anything.
"""

from __future__ import annotations


class WireError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ParameterTypeError(WireError):
    """A declared parameter type that is neither a wire name nor a known alias."""


class InputError(WireError):
    """A consume input (or a definition list) that does not match its declaration."""
