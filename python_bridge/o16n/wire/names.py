"""The one rule for the names in o16n's URLs: service names and versions (and the client's checks)."""

from __future__ import annotations

import re

from .errors import WireError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
NAME_RULE = "must start with a letter or digit and use only letters, digits, '_', '-' and '.' (at most 200)"


def check_name(value: str, field: str) -> str:
    """`value` if it is a valid service name or version, else WireError naming `field`."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise WireError(field, f"'{field}' {NAME_RULE}")
    return value
