"""Authentication: who is calling (`Authenticator`), o16n's tokens, local users, login throttling.

Authorization (what a caller may touch) is the domain's: see `server/domain/access.py`.
"""

from .authenticator import Authenticator
from .tokens import TokenService

__all__ = ["Authenticator", "TokenService"]
