"""A real OpenLDAP server (Debian's slapd) for the tests: own config, own data, loopback ports, a test CA.

`Slapd(root).start()` writes a slapd.conf (mdb database, the memberOf overlay, TLS with a
certificate from a CA made here), starts slapd in the foreground on a free ldap:// and ldaps://
port, and loads `BASE_LDIF` with ldapadd. `ensure_slapd()` installs slapd and ldap-utils with apt
when they are missing and we are root, and skips the test (saying why) where that is impossible.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_process import free_port

SUFFIX = "dc=example,dc=org"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{SUFFIX}", "admin-Secret-ldap"
SERVICE_DN, SERVICE_PASSWORD = f"cn=o16n,ou=services,{SUFFIX}", "service-Secret-ldap"
PEOPLE, GROUPS = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
GROUP_OF = {"Owner": "o16n-owners", "Contributor": "o16n-contributors", "Reader": "o16n-readers"}
ROLE_MAP = {role: [group] for role, group in GROUP_OF.items()}
MODULES = Path("/usr/lib/ldap")
SCHEMAS = Path("/etc/ldap/schema")

# Users: name -> (groups, password is "pw-<name>"). Each test that changes a user has its own.
USERS: dict[str, list[str]] = {
    "alice": ["o16n-owners"], "bob": ["o16n-contributors"], "carol": ["o16n-readers"], "dave": [],
    "heidi": ["o16n-readers", "o16n-owners"], "erin": ["o16n-contributors"], "frank": ["o16n-contributors"],
    "grace": ["o16n-readers"], "ivan": ["o16n-readers"], "judy": ["o16n-contributors"],
    # the role walk (test_roles.py) as directory users
    "contrib-a": ["o16n-contributors"], "contrib-b": ["o16n-contributors"], "reader-a": ["o16n-readers"],
    "reader-b": ["o16n-readers"], "owner-b": ["o16n-owners"],
}


def password_of(user: str) -> str:
    return f"pw-{user}"


def user_dn(user: str) -> str:
    return f"uid={user},{PEOPLE}"


def group_dn(group: str) -> str:
    return f"cn={group},{GROUPS}"


def base_ldif() -> str:
    parts = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
        *(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n" for ou in ("people", "groups", "services")),
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: o16n\n"
        f"userPassword: {SERVICE_PASSWORD}\n",
    ]
    for user in USERS:
        parts.append(f"dn: {user_dn(user)}\nobjectClass: inetOrgPerson\nuid: {user}\ncn: {user}\nsn: {user}\n"
                     f"displayName: {user.title()} Example\nmail: {user}@example.org\nuserPassword: {password_of(user)}\n")
    for group in GROUP_OF.values():
        members = [user_dn(u) for u, groups in USERS.items() if group in groups]
        # groupOfNames needs a member; the service account stands in for nobody.
        lines = "".join(f"member: {m}\n" for m in members or [SERVICE_DN])
        parts.append(f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}\n{lines}")
    return "\n".join(parts)


def ensure_slapd() -> None:
    if shutil.which("slapd") or Path("/usr/sbin/slapd").exists():
        if shutil.which("ldapadd"):
            return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("OpenLDAP (slapd, ldap-utils) is not installed and cannot be installed here (needs root and apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The package would start a system slapd on port 389; the tests run their own. policy-rc.d
    # (the Debian way to keep packages from starting services) is put in place only for the install.
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# written by o16n's tests while installing slapd\nexit 101\n")
        policy.chmod(0o755)
    try:
        installed = subprocess.run("apt-get update -qq && apt-get install -y -qq slapd ldap-utils", shell=True,
                                   env=env, capture_output=True, text=True)
    finally:
        if ours:
            policy.unlink()
    if installed.returncode != 0:
        pytest.skip(f"could not install slapd and ldap-utils: {installed.stderr[-500:]}")


class TestCA:
    """A CA and a server certificate for localhost / 127.0.0.1, written as PEM files."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, root: Path, name: str = "o16n test CA") -> None:
        now = dt.datetime.now(dt.UTC)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.ca_cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                        .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                     content_commitment=False, key_encipherment=False,
                                                     data_encipherment=False, key_agreement=False,
                                                     encipher_only=False, decipher_only=False), critical=True)
                        .sign(self.ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        root.mkdir(parents=True, exist_ok=True)
        self.ca_file = root / "ca.pem"
        self.cert_file = root / "server.pem"
        self.key_file = root / "server.key"
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))


class Slapd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.tls_port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = root / "slapd.log"
        self.ca = TestCA(root / "tls")

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    def start(self) -> Slapd:
        ensure_slapd()
        (self.root / "db").mkdir(parents=True, exist_ok=True)
        config = self.root / "slapd.conf"
        config.write_text(self._config())
        self._launch(config)
        self.ldap("ldapadd", base_ldif())
        return self

    def _config(self) -> str:
        schemas = "".join(f"include {SCHEMAS / name}.schema\n" for name in ("core", "cosine", "inetorgperson", "nis"))
        return f"""{schemas}
modulepath {MODULES}
moduleload back_mdb
moduleload memberof
pidfile {self.root / 'slapd.pid'}
TLSCACertificateFile {self.ca.ca_file}
TLSCertificateFile {self.ca.cert_file}
TLSCertificateKeyFile {self.ca.key_file}

database mdb
maxsize 67108864
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {self.root / 'db'}
overlay memberof

access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by users read
    by * none
"""

    def _launch(self, config: Path) -> None:
        urls = f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"
        self.process = subprocess.Popen(["slapd", "-f", str(config), "-h", urls, "-d", "0"],
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited early:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"slapd did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self._launch(self.root / "slapd.conf")

    def ldap(self, tool: str, ldif: str) -> None:
        """Run ldapadd / ldapmodify / ldapdelete as the directory admin."""
        done = subprocess.run([tool, "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD], input=ldif,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{tool} failed: {done.stderr}\n{ldif}"

    # --- changes the tests make ----------------------------------------------------------
    def set_groups(self, user: str, add: list[str] = (), remove: list[str] = ()) -> None:  # type: ignore[assignment]
        for group in add:
            self.ldap("ldapmodify", f"dn: {group_dn(group)}\nchangetype: modify\nadd: member\nmember: {user_dn(user)}\n")
        for group in remove:
            self.ldap("ldapmodify", f"dn: {group_dn(group)}\nchangetype: modify\ndelete: member\nmember: {user_dn(user)}\n")

    def disable(self, user: str) -> None:
        """Mark the account disabled the way the tests' search filter leaves it out."""
        self.ldap("ldapmodify", f"dn: {user_dn(user)}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n")

    def remove(self, user: str) -> None:
        done = subprocess.run(["ldapdelete", "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, user_dn(user)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr

    # --- o16n settings ----------------------------------------------------------------------
    def settings(self, **overrides: object) -> dict[str, object]:
        """Server settings for search-then-bind over LDAPS with the test CA (local admin kept)."""
        import json

        settings: dict[str, object] = {
            "auth_providers": "local,ldap",
            "auth_roles": json.dumps(ROLE_MAP),
            "ldap_url": self.ldaps_url,
            "ldap_ca_file": self.ca.ca_file,
            "ldap_bind_dn": SERVICE_DN,
            "ldap_bind_password": SERVICE_PASSWORD,
            "ldap_search_base": PEOPLE,
            # Who may sign in: people not marked disabled (on AD: the userAccountControl bit).
            "ldap_search_filter": "(&(objectClass=inetOrgPerson)(uid={username})(!(employeeType=disabled)))",
            "ldap_connect_timeout": 2,
            "ldap_timeout": 5,
        }
        settings.update(overrides)
        return settings
