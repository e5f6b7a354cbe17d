"""Service environments on the client side: what a service's objects and code need from the
kernel's Python (`Environment`, captured by `o16n.jupyter.inkernel.pins`, the code the Jupyter
relay runs in kernels too), and the version skew against the server's own environment.

    env = Environment.capture({"clf": clf}, code="import pandas")
    env                                   # python 3.11 and the pins, one a line, with reasons
    env.add("xgboost==2.1.0").remove("pandas").spec()
    # {"python": "3.11", "packages": ["joblib==1.4.2", ..., "xgboost==2.1.0"]}
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$")
_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """A distribution name as the package index compares them (PEP 503)."""
    return _SEPARATORS.sub("-", name).lower()


def requirement_name(requirement: str) -> str:
    """The normalized distribution name of a requirement string (``"Scikit_Learn==1.5"`` -> ``scikit-learn``)."""
    match = _NAME.match(requirement or "")
    if not match:
        raise ValueError(f"{requirement!r} is not a requirement (NAME==VERSION)")
    return normalize(match.group(1))


def environment_key(python: str, packages: Iterable[str]) -> str:
    """Seam A's key: sha256 of ``python + "\\n" + "\\n".join(sorted(packages))`` (names normalized)."""
    normalized = []
    for requirement in packages:
        match = _NAME.match(requirement)
        rest = match.group(2).replace(" ", "") if match else ""
        normalized.append(requirement_name(requirement) + rest)
    return hashlib.sha256((python + "\n" + "\n".join(sorted(normalized))).encode()).hexdigest()


@dataclass(frozen=True)
class Pin:
    """One package of an environment: ``name==version``, or a requirement given as is (``spec``)."""

    name: str
    version: str | None = None
    reason: str = ""
    direct: bool = False
    spec: str | None = None  # a requirement that is not an exact pin ("attrs>=24"), as given

    @property
    def requirement(self) -> str:
        if self.spec:
            return self.spec
        return f"{self.name}=={self.version}" if self.version else self.name


@dataclass
class Environment:
    """A Python version and packages, each with why it is there; `spec` is the wire form."""

    python: str
    packages: list[Pin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ making one
    @classmethod
    def capture(cls, objects: Mapping[str, Any] | None = None, code: str | Iterable[str] | None = None, *,
                modules: Mapping[str, dict[str, str]] | None = None, budget_seconds: float = 10.0) -> Environment:
        """What ``objects`` (name -> value) and ``code`` (the service code, init code) need from this
        Python: the distributions providing the modules their pickles refer to and the code imports,
        with what those require (installed ones, no extras). ``modules``: recorded while pickling."""
        from o16n.jupyter.inkernel import pins

        sources = [code] if isinstance(code, str) or code is None else list(code)
        builder = pins.EnvironmentBuilder()
        import time
        deadline = time.time() + budget_seconds
        from .capture import Serialized

        for name, value in (objects or {}).items():
            recorded = (modules or {}).get(name)
            if isinstance(value, Serialized):
                builder.add_object(name, value, modules=recorded if recorded is not None else value.modules or {},
                                   deadline=deadline, described=value.type_name or "bytes")
            else:
                builder.add_object(name, value, modules=recorded, deadline=deadline)
        for text in sources:
            if text:
                builder.add_code(text)
        return cls.from_capture(builder.result())

    @classmethod
    def from_capture(cls, raw: Mapping[str, Any]) -> Environment:
        """From the in-kernel answer ``{python, packages: [{name, version, reason, direct}], notes}``."""
        return cls(str(raw.get("python") or ""),
                   [Pin(normalize(str(p["name"])), str(p["version"]), str(p.get("reason") or ""), bool(p.get("direct")))
                    for p in raw.get("packages") or []],
                   [str(n) for n in raw.get("notes") or []])

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Environment:
        """From the wire form ``{python, packages: [requirement, ...]}``."""
        env = cls(str(spec.get("python") or ""))
        return env.add(*(spec.get("packages") or []), reason="given")

    @classmethod
    def parse(cls, packages: Iterable[str] | Environment | Mapping[str, Any], python: str | None = None) -> Environment:
        if isinstance(packages, Environment):
            return packages if python is None else replace(packages, python=python)
        if isinstance(packages, Mapping):
            env = cls.from_spec(packages)
            return env if python is None else replace(env, python=python)
        if isinstance(packages, str):
            packages = [packages]
        return cls(python or kernel_python()).add(*packages, reason="given")

    # ------------------------------------------------------------ changing one (new objects)
    def add(self, *requirements: str, reason: str = "added") -> Environment:
        """Add or override packages: ``"xgboost==2.1.0"``, ``"attrs>=24"``, or a bare name (pinned to
        this Python's installed version when it has one)."""
        by_name = {p.name: p for p in self.packages}
        for requirement in requirements:
            name = requirement_name(requirement)
            rest = _NAME.match(requirement).group(2).strip()  # type: ignore[union-attr]
            if rest.startswith("==") and not any(c in rest[2:] for c in ",;*<>!~= "):
                by_name[name] = Pin(name, rest[2:].strip(), reason, True)
            elif not rest:
                version = installed_version(name)
                by_name[name] = Pin(name, version, reason, True, None if version else name)
            else:
                by_name[name] = Pin(name, None, reason, True, name + rest)
        return replace(self, packages=sorted(by_name.values(), key=lambda p: p.name))

    def remove(self, *names: str) -> Environment:
        """Drop packages by name (any spelling)."""
        gone = {requirement_name(n) for n in names}
        unknown = gone - {p.name for p in self.packages}
        if unknown:
            raise ValueError(f"not in the environment: {', '.join(sorted(unknown))}")
        return replace(self, packages=[p for p in self.packages if p.name not in gone])

    def with_python(self, python: str) -> Environment:
        return replace(self, python=python)

    # ------------------------------------------------------------ the wire
    @property
    def python_minor(self) -> str:
        """``3.11`` of ``3.11.7``: environments are built with the server's interpreter of that minor."""
        parts = self.python.split(".")
        return ".".join(parts[:2]) if len(parts) >= 2 else self.python

    def requirements(self) -> list[str]:
        return [p.requirement for p in self.packages]

    def spec(self) -> dict[str, Any]:
        """``{"python": "3.11", "packages": ["numpy==2.1.3", ...]}`` (Seam A's environment spec)."""
        return {"python": self.python_minor, "packages": self.requirements()}

    @property
    def key(self) -> str:
        spec = self.spec()
        return environment_key(spec["python"], spec["packages"])

    def get(self, name: str) -> Pin | None:
        wanted = normalize(name)
        return next((p for p in self.packages if p.name == wanted), None)

    def __len__(self) -> int:
        return len(self.packages)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    # ------------------------------------------------------------ showing it
    def to_text(self) -> str:
        lines = [f"environment: python {self.python_minor}, {len(self.packages)} package(s)"]
        width = max((len(p.requirement) for p in self.packages), default=0)
        lines += [f"  {p.requirement.ljust(width)}  {p.reason}".rstrip() for p in self.packages]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(f"<tr><td><code>{esc(p.requirement)}</code></td><td>{esc(p.reason)}</td></tr>"
                       for p in self.packages)
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        return (f"<div><b>environment</b>: python {esc(self.python_minor)}, {len(self.packages)} package(s)"
                f"<table>{rows}</table>" + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


def kernel_python() -> str:
    import platform
    return platform.python_version()


def installed_version(name: str) -> str | None:
    from o16n.jupyter.inkernel import pins

    dist = pins.installed()[0].get(normalize(name))
    return dist.version if dist is not None else None


@dataclass(frozen=True)
class Skew:
    """A package the published objects come from whose version differs between kernel and server."""

    name: str
    kernel_version: str
    server_version: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "kernelVersion": self.kernel_version, "serverVersion": self.server_version}

    def __str__(self) -> str:
        return f"{self.name} {self.kernel_version} here, {self.server_version or 'not installed'} on the server"


def version_skew(environment: Environment, server_packages: Mapping[str, str], direct_only: bool = True) -> list[Skew]:
    """The packages of ``environment`` (those the objects and code use directly, by default) whose
    version differs from the server's (``GET /environments/server``'s ``packages``)."""
    server = {normalize(k): str(v) for k, v in server_packages.items()}
    out = []
    for pin in environment.packages:
        if (direct_only and not pin.direct) or not pin.version:
            continue
        theirs = server.get(pin.name)
        if theirs != pin.version:
            out.append(Skew(pin.name, pin.version, theirs))
    return out


class VersionSkewWarning(UserWarning):
    """A service was published without an environment and the server's versions differ from the kernel's."""


def skew_text(skew: list[Skew]) -> str:
    return ("the server's own environment differs from this kernel for: " + "; ".join(str(s) for s in skew) +
            " (publish with .environment() to pin the kernel's versions)")
