"""The o16n Python client: publish Python functions and objects as web services, consume them.

    from o16n.client import connect
    with connect("http://localhost:12800", "admin", "secret") as client:
        svc = client.service("add").version("1.0").code_fn(add).deploy()
        svc(1, 2).output()

    # a bearer token from an identity provider (MSAL, azure.identity, any OIDC library), asked again
    # when it nears expiry: see o16n.client.tokens
    client = connect("https://o16n.example.com", token_provider=lambda: credential.get_token(scope))

    # pin the kernel's package versions for the service (the server builds that environment once)
    client.service("iris").version("2").code_fn(predict).objects(clf=clf).environment().deploy()

    # a realtime service: the model alone (ONNX; scikit-learn converted with skl2onnx), scored natively
    client.service("iris-rt").version("1").realtime(clf, sample=X[:5]).deploy()
"""

from .capture import CaptureResult, Serialized, capture
from .client import Client, ServiceList, connect
from .definition import ServiceDefinition
from .encoding import WIRE_TYPES, ParamType, param_type
from .environment import Environment, Pin, Skew, VersionSkewWarning
from .errors import (
    AuthenticationError,
    InvalidInput,
    NotFound,
    O16nError,
    PermissionDenied,
    ServerError,
    TokenProviderError,
)
from .results import RESULT_MIME, BatchResult, ServiceFailed, ServiceResult
from .service import Batch, Service
from .session import ExecuteResult, Session
from .tokens import BearerToken, TokenCommand

__all__ = [
    "connect", "Client", "ServiceList", "ServiceDefinition", "Service", "ServiceResult", "ServiceFailed",
    "Batch", "BatchResult", "Session", "ExecuteResult", "capture", "CaptureResult", "Serialized",
    "ParamType", "param_type", "WIRE_TYPES", "RESULT_MIME",
    "O16nError", "AuthenticationError", "PermissionDenied", "NotFound", "InvalidInput", "ServerError",
    "TokenProviderError", "BearerToken", "TokenCommand", "Environment", "Pin", "Skew", "VersionSkewWarning",
]
