"""Which sign-in providers are on, built once at start from the settings (bad ones stop the start)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config import ConfigError, Settings
from .ldap import LdapConfig, LdapDirectory
from .oidc import OidcConfig, OidcVerifier
from .roles import RoleMap

log = logging.getLogger("o16n.auth")

PROVIDERS = ("local", "ldap", "oidc")


@dataclass
class Providers:
    order: tuple[str, ...]  # as configured: POST /login asks the password providers in this order
    roles: RoleMap
    cache_lifetime: float  # seconds between two reads of a directory user's groups
    ldap: LdapDirectory | None = None
    oidc: OidcVerifier | None = None

    def close(self) -> None:
        for provider in (self.ldap, self.oidc):
            if provider is not None:
                provider.close()


def build_providers(settings: Settings) -> Providers:
    key = "O16N_AUTH_PROVIDERS"
    order = tuple(name.strip().lower() for name in settings.auth_providers.split(",") if name.strip())
    if not order:
        raise ConfigError(key, f"name at least one provider ({', '.join(PROVIDERS)})")
    for name in order:
        if name not in PROVIDERS:
            raise ConfigError(key, f"unknown provider {name!r}: use {', '.join(PROVIDERS)}")
    if len(set(order)) != len(order):
        raise ConfigError(key, "a provider is named twice")
    if settings.cache_lifetime_minutes < 0:
        raise ConfigError("O16N_CACHE_LIFETIME_MINUTES", "must not be negative")
    roles = RoleMap.load(settings.auth_roles, settings.auth_roles_file)
    if roles.empty and ("ldap" in order or "oidc" in order):
        raise ConfigError("O16N_AUTH_ROLES", 'map directory groups to roles, e.g. {"Owner": ["o16n-admins"], '
                          '"Contributor": ["data-scientists"], "Reader": ["apps"]}: without it nobody could sign in')
    providers = Providers(order, roles, settings.cache_lifetime_minutes * 60)
    if "ldap" in order:
        providers.ldap = LdapDirectory(LdapConfig.from_settings(settings))
    if "oidc" in order:
        verifier = OidcVerifier(OidcConfig.from_settings(settings))
        try:
            verifier.start()
        except ConfigError:
            verifier.close()
            raise
        providers.oidc = verifier
    log.info("sign-in providers: %s", ", ".join(order))
    return providers
