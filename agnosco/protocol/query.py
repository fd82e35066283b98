"""The AWS Query protocol (STS's): form-encoded parameters in, XML out, driven by the shapes.

A request is ``Action=<Operation>&Version=2011-06-15&<members>``, in a form-encoded POST body
or (a presigned GET) the query string; members are flattened as botocore's ``QuerySerializer``
writes them: a structure's members ``Name.Member``, a list's items ``Name.member.N`` (from 1),
a map's entries ``Name.entry.N.key`` / ``.value``.  The answer is
``<OperationResponse xmlns=NS><OperationResult>...</OperationResult><ResponseMetadata>
<RequestId>...</RequestId></ResponseMetadata></OperationResponse>``; an error
``<ErrorResponse xmlns=NS><Error><Type>Sender</Type><Code>...</Code><Message>...</Message>
</Error><RequestId>...</RequestId></ErrorResponse>``, under the code STS uses for it
(:data:`QUERY_ERRORS`: the same refusal is ``UnrecognizedClientException`` from the JSON
protocol and ``InvalidClientTokenId`` from STS).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from agnosco.errors import InvalidAction, SerializationException, ServiceError

CONTENT_TYPE = b"text/xml"
FORM = "application/x-www-form-urlencoded"
#: Agnosco's error codes (the JSON protocol's) -> the code and HTTP status STS answers with.
QUERY_ERRORS: dict[str, tuple[str, int]] = {
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "ExpiredTokenException": ("ExpiredToken", 400),
    "AccessDeniedException": ("AccessDenied", 403),
    "InvalidParameterException": ("ValidationError", 400),
    "SerializationException": ("MalformedInput", 400),
    "ValidationError": ("ValidationError", 400),
    "InvalidAction": ("InvalidAction", 400),
    "MalformedPolicyDocumentException": ("MalformedPolicyDocument", 400),
    "ImageTooLargeException": ("RequestEntityTooLarge", 413),
    "RequestTimeoutException": ("RequestTimeout", 408),
    "ProvisionedThroughputExceededException": ("Throttling", 400),
    "ThrottlingException": ("Throttling", 400),
    "InternalServerError": ("InternalFailure", 500),
}
_INDEX = re.compile(r"^[1-9][0-9]{0,5}$")
#: More parameters than any STS call has (AssumeRole's 50 tags and 50 keys are ~200): beyond,
#: the request is refused before it is decoded, whose cost grows with their number.
MAX_PARAMETERS = 1000


def request_parameters(query: str, body: bytes, auth_names: frozenset[str]) -> dict[str, str]:
    """The flat parameters of a Query request: the query string's (without the signature's
    ``X-Amz-*`` parameters, ``auth_names``), then the form body's."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True) + parse_qsl(
            body.decode("utf-8"), keep_blank_values=True
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise SerializationException(f"The request body is not form-encoded UTF-8: {exc}") from exc
    if len(pairs) > MAX_PARAMETERS:
        raise SerializationException(
            f"The request has {len(pairs)} parameters; at most {MAX_PARAMETERS} are accepted."
        )
    return {name: value for name, value in pairs if name not in auth_names}


def operation_of(params: Mapping[str, str], operations: list[str], version: str) -> str:
    """The operation ``Action`` names, of this API ``Version``.

    :raises InvalidAction: no Action, an unknown one, or another version.
    """
    action, given = params.get("Action"), params.get("Version")
    if not action:
        raise InvalidAction("The request must contain the parameter Action.")
    if action not in operations or given != version:
        raise InvalidAction(
            f"Could not find operation {action[:80]} for version {given or 'NO_VERSION_SPECIFIED'}"
        )
    return action


def decode_parameters(params: Mapping[str, str], shape: Shape | None) -> dict[str, Any]:
    """The request members of a flat parameter dict, by the input shape (unknown names are
    dropped; values of the wrong form left as text for the validator to report)."""
    if shape is None:
        return {}
    return cast(dict[str, Any], _decode(params, shape, ""))


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _present(params: Mapping[str, str], key: str) -> bool:
    return key in params or any(k.startswith(key + ".") for k in params)


def _indexes(params: Mapping[str, str], prefix: str) -> list[int]:
    found = set()
    for name in params:
        if name.startswith(prefix + "."):
            head = name[len(prefix) + 1 :].split(".", 1)[0]
            if _INDEX.match(head):
                found.add(int(head))
    return sorted(found)


def _decode(params: Mapping[str, str], shape: Shape, key: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in cast(StructureShape, shape).members.items():
            child = _key(key, member.serialization.get("name", name))
            if _present(params, child):
                out[name] = _decode(params, member, child)
        return out
    if kind == "list":
        if params.get(key) == "":  # botocore sends an empty list as `Name=`
            return []
        member = cast(ListShape, shape).member
        prefix = (
            key
            if shape.serialization.get("flattened")
            else _key(key, member.serialization.get("name", "member"))
        )
        return [_decode(params, member, f"{prefix}.{n}") for n in _indexes(params, prefix)]
    if kind == "map":
        map_shape = cast(MapShape, shape)
        prefix = key if shape.serialization.get("flattened") else _key(key, "entry")
        key_name = map_shape.key.serialization.get("name", "key")
        value_name = map_shape.value.serialization.get("name", "value")
        return {
            params.get(f"{prefix}.{n}.{key_name}", ""): _decode(
                params, map_shape.value, f"{prefix}.{n}.{value_name}"
            )
            for n in _indexes(params, prefix)
        }
    text = params.get(key, "")
    if kind in ("integer", "long"):
        return int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else text
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SerializationException(f"Invalid base64 in {key}: {exc}") from exc
    if kind == "timestamp":
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return text
    return text


def encode_result(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> bytes:
    """The XML answer to a successful call."""
    namespace = operation.service_model.metadata["xmlNamespace"]
    root = ElementTree.Element(f"{operation.name}Response", xmlns=namespace)
    shape = operation.output_shape
    wrapper = ElementTree.SubElement(
        root,
        shape.serialization.get("resultWrapper", f"{operation.name}Result")
        if shape is not None
        else f"{operation.name}Result",
    )
    if shape is not None:
        _encode_members(wrapper, result, shape)
    metadata = ElementTree.SubElement(root, "ResponseMetadata")
    ElementTree.SubElement(metadata, "RequestId").text = request_id
    return bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=False))


def _encode_members(
    parent: ElementTree.Element, value: Mapping[str, Any], shape: StructureShape
) -> None:
    for name, member in shape.members.items():
        if value.get(name) is not None:
            element = ElementTree.SubElement(parent, member.serialization.get("name", name))
            _encode(element, value[name], member)


def _encode(element: ElementTree.Element, value: Any, shape: Shape) -> None:
    kind = shape.type_name
    if kind == "structure":
        _encode_members(element, value, cast(StructureShape, shape))
    elif kind == "list":
        member = cast(ListShape, shape).member
        for item in value:
            child = ElementTree.SubElement(element, member.serialization.get("name", "member"))
            _encode(child, item, member)
    elif kind == "map":
        map_shape = cast(MapShape, shape)
        for k, v in value.items():
            entry = ElementTree.SubElement(element, "entry")
            ElementTree.SubElement(entry, "key").text = str(k)
            _encode(ElementTree.SubElement(entry, "value"), v, map_shape.value)
    elif kind == "timestamp":
        moment = (
            value if isinstance(value, dt.datetime) else dt.datetime.fromtimestamp(value, dt.UTC)
        )
        element.text = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif kind == "boolean":
        element.text = "true" if value else "false"
    elif kind == "blob":
        element.text = base64.b64encode(value).decode()
    else:
        element.text = str(value)


def encode_error(error: ServiceError, request_id: str, namespace: str) -> tuple[int, str, bytes]:
    """(HTTP status, STS's error code, the XML body) for a refusal or failure."""
    code, status = QUERY_ERRORS.get(
        error.code, (error.code, error.status_hint or (400 if error.sender_fault else 500))
    )
    root = ElementTree.Element("ErrorResponse", xmlns=namespace)
    detail = ElementTree.SubElement(root, "Error")
    ElementTree.SubElement(detail, "Type").text = "Sender" if error.sender_fault else "Receiver"
    ElementTree.SubElement(detail, "Code").text = code
    ElementTree.SubElement(detail, "Message").text = error.message
    ElementTree.SubElement(root, "RequestId").text = request_id
    return status, code, bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=False))
