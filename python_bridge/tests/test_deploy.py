"""The deployment files agree with the code: the settings they name exist, the probes point at the
health routes, the ports match (nothing here builds an image or applies a manifest: see docs/deploy.md)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import yaml

from o16n.server.config import Settings
from o16n.server.middleware import is_public

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {f"O16N_{f.name.upper()}" for f in fields(Settings)} | {"O16N_DATA_DIR", "O16N_ADMIN_PASSWORD"}


def test_the_kubernetes_manifest():
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "o16n.yaml").read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert set(kinds) == {"Job", "Deployment", "Service"}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for probe, path in (("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live")):
        assert container[probe]["httpGet"]["path"] == path and is_public("GET", path)
    assert container["ports"][0]["containerPort"] == 12800 == Settings().port
    for variable in container["env"]:
        assert variable["name"] == "POD_IP" or variable["name"] in SETTINGS, variable
    assert kinds["Job"]["spec"]["template"]["spec"]["containers"][0]["command"] == ["o16n", "db", "upgrade"]
    assert "sessionAffinity" not in kinds["Service"]["spec"]


def test_the_dockerfile():
    text = (DEPLOY / "Dockerfile").read_text()
    for variable in re.findall(r"\b(O16N_[A-Z_]+)=", text):
        assert variable in SETTINGS, variable
    assert "/health/live" in text and 'CMD ["o16n", "serve"]' in text and "EXPOSE 12800" in text


def test_the_haproxy_config():
    text = (DEPLOY / "haproxy.cfg").read_text()
    assert "balance roundrobin" in text and "option httpchk GET /health/ready" in text
    directives = [line.split("#")[0].strip() for line in text.splitlines()]
    assert not [d for d in directives if d.startswith(("cookie", "stick", "balance source"))]  # no stickiness
