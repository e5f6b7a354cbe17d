"""Directory groups (or token roles) to o16n roles: the 9.1-style lists, highest role wins.

    {"Owner": ["o16n-admins"], "Contributor": ["data-scientists"], "Reader": ["cn=apps,ou=groups,dc=example,dc=org"]}

A listed name matches a group case-insensitively, either in full (a DN, an Azure AD object id, a
role value) or as the value of the group DN's first part (`cn=o16n-admins,ou=groups,...` matches
"o16n-admins"). Someone in none of the listed groups has no role: the server answers 403.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError
from ..domain.access import ROLES

# The value of a DN's first attribute: "cn=Data Scientists,ou=groups" -> "Data Scientists".
_FIRST_RDN = re.compile(r"^\s*[A-Za-z][\w.-]*\s*=\s*((?:\\.|[^,+\\])*)")


@dataclass(frozen=True, slots=True)
class RoleDecision:
    role: str | None  # None: in no mapped group
    group: str | None  # the group (as the directory or token named it) that gave the role


def _names_of(group: str) -> set[str]:
    names = {group.strip().lower()}
    first = _FIRST_RDN.match(group)
    if first and "," in group:
        names.add(first.group(1).replace("\\", "").strip().lower())
    return names


class RoleMap:
    def __init__(self, mapping: dict[str, list[str]]) -> None:
        # Highest role first, so the first role whose list matches is the answer.
        self.lists: list[tuple[str, set[str]]] = [(role, {g.strip().lower() for g in mapping.get(role, [])})
                                                  for role in ROLES]

    @property
    def empty(self) -> bool:
        return not any(groups for _, groups in self.lists)

    def decide(self, groups: Iterable[str]) -> RoleDecision:
        held = [(group, _names_of(group)) for group in groups]
        for role, listed in self.lists:
            for group, names in held:
                if names & listed:
                    return RoleDecision(role, group)
        return RoleDecision(None, None)

    def as_dict(self) -> dict[str, list[str]]:
        return {role: sorted(groups) for role, groups in self.lists}

    @classmethod
    def parse(cls, text: str, key: str) -> RoleMap:
        """The mapping in `text` (JSON); ConfigError naming `key` if it is not a role -> list of names."""
        if not text.strip():
            return cls({})
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(key, f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(key, 'expected an object like {"Owner": ["group", ...], "Reader": [...]}')
        mapping: dict[str, list[str]] = {}
        for role, groups in data.items():
            if role not in ROLES:
                raise ConfigError(key, f"{role!r} is not a role: use {', '.join(ROLES)}")
            if isinstance(groups, str):
                groups = [groups]
            if not isinstance(groups, list) or not all(isinstance(g, str) and g.strip() for g in groups):
                raise ConfigError(key, f"the groups of {role} must be a list of non-empty names")
            mapping[role] = groups
        return cls(mapping)

    @classmethod
    def load(cls, inline: str, path: Path | None) -> RoleMap:
        """From O16N_AUTH_ROLES or O16N_AUTH_ROLES_FILE (one of them)."""
        if inline.strip() and path is not None:
            raise ConfigError("O16N_AUTH_ROLES", "set either O16N_AUTH_ROLES or O16N_AUTH_ROLES_FILE, not both")
        if path is None:
            return cls.parse(inline, "O16N_AUTH_ROLES")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("O16N_AUTH_ROLES_FILE", f"cannot read {path}: {exc.strerror}") from None
        return cls.parse(text, "O16N_AUTH_ROLES_FILE")
