"""An environment spec, `{"python": "3.11", "packages": ["attrs==24.2.0", ...]}`, and its key.

Packages are requirement strings (normally exact pins) checked to be nothing else: a name, extras,
version specifiers and an environment marker. No URLs, paths or options reach uv from a request
(`--index-url ...`, `pkg @ file:///etc/...` are refused), so a publisher cannot make the server
read local files or another index into a build.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest

MAX_PACKAGES = 500
PYTHON = re.compile(r"^3\.\d{1,2}(\.\d{1,3})?$")
# name [extras] specifiers ; marker  (PEP 508 without direct references)
NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
EXTRAS = re.compile(r"^\[\s*[A-Za-z0-9][A-Za-z0-9._-]*(\s*,\s*[A-Za-z0-9][A-Za-z0-9._-]*)*\s*\]")
SPECIFIERS = re.compile(r"^(\s*(===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*)(,\s*(===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*)*$")
MARKER = re.compile(r"^[A-Za-z0-9_.<>=!~'\" ()]+$")


class EnvironmentRefused(BadRequest):
    """A 400 about the `environment` field: the house error body (`fields`) plus Seam A's `field`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="environment")

    def body(self) -> dict[str, object]:
        return {**super().body(), "field": "environment"}


def normalize_name(name: str) -> str:
    """A distribution name as PEP 503 compares them: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def normalize_requirement(text: str) -> str:
    """`Scikit_Learn == 1.5.2` -> `scikit-learn==1.5.2`; a BadRequest naming the problem otherwise."""
    raw = text.strip()
    if not raw or len(raw) > 300 or any(ord(c) < 32 for c in raw):
        raise EnvironmentRefused(f"environment package '{text[:80]}' is not a requirement (name==version)")
    requirement, _, marker = raw.partition(";")
    match = NAME.match(requirement.strip())
    if not match:
        raise EnvironmentRefused(f"environment package '{raw}' does not start with a distribution name")
    rest = requirement.strip()[match.end():].strip()
    extras = ""
    if rest.startswith("["):
        found = EXTRAS.match(rest)
        if not found:
            raise EnvironmentRefused(f"environment package '{raw}' has malformed extras")
        extras = "[" + ",".join(sorted(normalize_name(e.strip()) for e in found.group(0)[1:-1].split(","))) + "]"
        rest = rest[found.end():].strip()
    if rest and not SPECIFIERS.match(rest):
        raise EnvironmentRefused(f"environment package '{raw}': only version specifiers may follow the name "
                         "(like name==1.2.3; URLs, paths and options are not accepted)")
    out = normalize_name(match.group(1)) + extras + re.sub(r"\s+", "", rest)
    marker = marker.strip()
    if marker:
        if not MARKER.match(marker):
            raise EnvironmentRefused(f"environment package '{raw}' has a malformed marker")
        out += " ; " + re.sub(r"\s+", " ", marker)
    return out


def requirement_name(requirement: str) -> str:
    match = NAME.match(requirement)
    return normalize_name(match.group(1)) if match else requirement


@dataclass(frozen=True)
class EnvironmentSpec:
    python: str  # X.Y or X.Y.Z
    packages: tuple[str, ...]  # normalized, sorted, no duplicates

    @property
    def key(self) -> str:
        return environment_key(self.python, self.packages)

    def to_json(self) -> dict[str, Any]:
        return {"python": self.python, "packages": list(self.packages)}

    @classmethod
    def make(cls, python: str, packages: list[str] | tuple[str, ...]) -> EnvironmentSpec:
        if not isinstance(python, str) or not PYTHON.match(python.strip()):
            raise EnvironmentRefused("'environment.python' must be a Python version like 3.11 or 3.11.7")
        if len(packages) > MAX_PACKAGES:
            raise EnvironmentRefused(f"an environment holds at most {MAX_PACKAGES} packages")
        normalized = sorted({normalize_requirement(p) for p in packages})
        names = [requirement_name(p) for p in normalized]
        twice = sorted({n for n in names if names.count(n) > 1 and not any(";" in p for p in normalized if requirement_name(p) == n)})
        if twice:
            raise EnvironmentRefused(f"environment packages name {', '.join(twice)} more than once")
        return cls(python.strip(), tuple(normalized))

    @classmethod
    def parse(cls, value: Any) -> EnvironmentSpec | None:
        """The `environment` member of a request body: an object, or null/absent for the server's own."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise EnvironmentRefused("'environment' must be an object {python, packages} or null")
        fields = {str(k).lower(): v for k, v in value.items()}
        unknown = sorted(set(fields) - {"python", "packages"})
        if unknown:
            raise EnvironmentRefused(f"'environment' has unknown members: {', '.join(unknown)}")
        python = fields.get("python")
        packages = fields.get("packages") or []
        if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
            raise EnvironmentRefused("'environment.packages' must be an array of strings (name==version)")
        if not isinstance(python, str):
            raise EnvironmentRefused("'environment.python' is required (a version like 3.11)")
        return cls.make(python, packages)


def environment_key(python: str, packages: tuple[str, ...] | list[str]) -> str:
    """sha256 hex of `python + "\\n" + "\\n".join(sorted(normalized packages))` (Seam A)."""
    return hashlib.sha256((python + "\n" + "\n".join(sorted(packages))).encode()).hexdigest()
