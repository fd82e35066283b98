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
    ├── ServiceQuotaExceededException      a per-collection/user limit
    ├── AccessDeniedException              policy refused the call
    ├── MalformedPolicyDocumentException   a policy document is invalid
    ├── protocol errors: SerializationException, UnknownOperationException,
    │   MissingAuthenticationTokenException, IncompleteSignatureException,
    │   InvalidSignatureException, UnrecognizedClientException, NotImplementedException
    └── InternalServerError                Agnosco's own fault
"""

from __future__ import annotations


class ServiceError(Exception):
    """A failure reported to the caller under an AWS error code."""

    code: str = "ServiceError"
    #: True when the caller's request is at fault (a 4xx), False for our own faults (5xx).
    sender_fault: bool = True
    #: HTTP status AWS uses when it is not the default 400 / 500.
    status_hint: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _error(name: str, doc: str, *, sender_fault: bool = True, status: int | None = None) -> type[ServiceError]:
    return type(name, (ServiceError,), {"code": name, "__doc__": doc, "sender_fault": sender_fault,
                                        "status_hint": status, "__module__": __name__})


InvalidParameterException = _error("InvalidParameterException", "A parameter violated a constraint.")
InvalidImageFormatException = _error("InvalidImageFormatException", "The image is not a decodable JPEG or PNG.")
ImageTooLargeException = _error("ImageTooLargeException", "The image exceeds the byte or pixel limits.")
InvalidS3ObjectException = _error("InvalidS3ObjectException", "The S3 object is missing or unreadable.")
ResourceNotFoundException = _error("ResourceNotFoundException", "The collection, user or face does not exist.")
ResourceAlreadyExistsException = _error("ResourceAlreadyExistsException", "A collection with this id exists.")
ConflictException = _error("ConflictException", "The resource's state forbids this change.")
IdempotentParameterMismatchException = _error(
    "IdempotentParameterMismatchException", "A ClientRequestToken was reused with other parameters.")
InvalidPaginationTokenException = _error("InvalidPaginationTokenException", "The NextToken is not valid here.")
ServiceQuotaExceededException = _error("ServiceQuotaExceededException", "A quota would be exceeded.")
AccessDeniedException = _error("AccessDeniedException", "A policy refused the call.")
MalformedPolicyDocumentException = _error(
    "MalformedPolicyDocumentException", "A policy document is not valid IAM policy syntax.")
SerializationException = _error("SerializationException", "The request body is not valid JSON of the shape.")
UnknownOperationException = _error("UnknownOperationException", "X-Amz-Target names no Rekognition operation.")
MissingAuthenticationTokenException = _error(
    "MissingAuthenticationTokenException", "The request carries no signature.", status=403)
IncompleteSignatureException = _error(
    "IncompleteSignatureException", "The Authorization header is malformed.", status=400)
InvalidSignatureException = _error(
    "InvalidSignatureException", "The signature does not match, or has expired.", status=400)
UnrecognizedClientException = _error(
    "UnrecognizedClientException", "The access key is unknown or revoked.", status=400)
NotImplementedException = _error(
    "NotImplementedException", "The operation exists in Rekognition but not in Agnosco.", status=501)
InternalServerError = _error("InternalServerError", "Agnosco itself failed; retry.", sender_fault=False)
RequestTimeoutException = _error(
    "RequestTimeoutException", "The request body did not arrive in time.", status=408)
ThrottlingException = _error(
    "ThrottlingException", "The server's model queue is full; retry with back-off.", sender_fault=False, status=500)
ProvisionedThroughputExceededException = _error(
    "ProvisionedThroughputExceededException", "The access key's request-rate limit is exceeded.")
