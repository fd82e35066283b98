"""The one error base of Agnosco.

Every failure a caller should see is a :class:`ServiceError` whose ``code`` is the
Rekognition (or AWS protocol) error name, the ``__type`` on the wire.  The layers raise
these; only the protocol layer turns them into HTTP responses, so nothing here knows HTTP
beyond ``sender_fault`` (the caller's fault: a 4xx) and, for the few protocol errors AWS
answers with another status, ``status_hint``.

Tree::

    ServiceError
    ├── InvalidParameterException          a parameter breaks a constraint
    ├── InvalidImageFormatException        not a decodable JPEG/PNG
    ├── ImageTooLargeException             too many bytes or pixels
    ├── InvalidS3ObjectException           S3Object missing or unreadable
    ├── ResourceNotFoundException          no such collection, user or face
    ├── ResourceAlreadyExistsException     collection id taken
    ├── ConflictException                  user state forbids the change
    ├── IdempotentParameterMismatchException   token reused with other parameters
    ├── InvalidPaginationTokenException    NextToken not issued by this service for this call
    ├── ServiceQuotaExceededException      a per-collection/user limit, a principal's face quota
    ├── LimitExceededException             a principal's monthly image quota
    ├── AccessDeniedException              policy refused the call
    ├── MalformedPolicyDocumentException   a policy document is invalid
    ├── ProvisionedThroughputExceededException   an access key over its request-rate limit
    ├── protocol errors: SerializationException, UnknownOperationException,
    │   MissingAuthenticationTokenException, IncompleteSignatureException,
    │   InvalidSignatureException, UnrecognizedClientException, ExpiredTokenException,
    │   NotImplementedException, RequestTimeoutException
    ├── ValidationError, InvalidAction       STS requests (Query protocol) only
    ├── ThrottlingException                the model queue is full (a fault: retry)
    └── InternalServerError                Agnosco's own fault

Each is a real class (type checkers and ``except`` clauses see it), its docstring what it means.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A failure reported to the caller under an AWS error code."""

    #: The AWS error code (``__type`` on the wire): the class's name.
    code: str = "ServiceError"
    #: True when the caller's request is at fault (a 4xx), False for our own faults (5xx).
    sender_fault: bool = True
    #: HTTP status AWS uses when it is not the default 400 / 500.
    status_hint: int | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidParameterException(ServiceError):
    """A parameter violated a constraint."""


class InvalidImageFormatException(ServiceError):
    """The image is not a decodable JPEG or PNG."""


class ImageTooLargeException(ServiceError):
    """The image exceeds the byte or pixel limits."""


class InvalidS3ObjectException(ServiceError):
    """The S3 object is missing or unreadable."""


class VideoTooLargeException(ServiceError):
    """The video's file exceeds Rekognition's limits (10 GB, 6 hours)."""


class ResourceNotFoundException(ServiceError):
    """The collection, user or face does not exist."""


class ResourceAlreadyExistsException(ServiceError):
    """A collection with this id exists."""


class ResourceInUseException(ServiceError):
    """The resource is in use (a stream processor that is running, or a name that is taken)."""


class ConflictException(ServiceError):
    """The resource's state forbids this change."""


class IdempotentParameterMismatchException(ServiceError):
    """A ClientRequestToken was reused with other parameters."""


class InvalidPaginationTokenException(ServiceError):
    """The NextToken is not valid here."""


class ServiceQuotaExceededException(ServiceError):
    """A quota would be exceeded."""


class LimitExceededException(ServiceError):
    """A service limit was exceeded (a principal's monthly image quota)."""


class AccessDeniedException(ServiceError):
    """A policy refused the call."""


class MalformedPolicyDocumentException(ServiceError):
    """A policy document is not valid IAM policy syntax."""


class SerializationException(ServiceError):
    """The request body is not valid JSON of the shape."""


class UnknownOperationException(ServiceError):
    """X-Amz-Target names no Rekognition operation."""


class MissingAuthenticationTokenException(ServiceError):
    """The request carries no signature."""

    status_hint = 403


class IncompleteSignatureException(ServiceError):
    """The Authorization header is malformed."""


class InvalidSignatureException(ServiceError):
    """The signature does not match, or has expired."""


class UnrecognizedClientException(ServiceError):
    """The access key is unknown or revoked."""


class ExpiredTokenException(ServiceError):
    """The temporary credentials' session has expired."""


class ValidationError(ServiceError):
    """An STS request parameter breaks a constraint (STS's code for it)."""


class InvalidAction(ServiceError):
    """An STS request names no operation Agnosco serves (or the wrong API version)."""


class NotImplementedException(ServiceError):
    """The operation exists in Rekognition but not in Agnosco."""

    status_hint = 501


class InternalServerError(ServiceError):
    """Agnosco itself failed; retry."""

    sender_fault = False


class RequestTimeoutException(ServiceError):
    """The request body did not arrive in time."""

    status_hint = 408


class ThrottlingException(ServiceError):
    """The server's model queue is full; retry with back-off."""

    sender_fault = False
    status_hint = 500


class ProvisionedThroughputExceededException(ServiceError):
    """The access key's request-rate limit is exceeded."""
