"""What the stream processor operations share: checking a definition, the Describe shape, and
the view of a call governance decides on.

A processor is defined by CreateStreamProcessor and kept as given (less what Rekognition
changes: a ``FaceMatchThreshold`` below :data:`MIN_FACE_MATCH_THRESHOLD` is raised to it, and
the default 80 is written in).  Only face search processors are built: ``Settings.FaceSearch``
with a Kinesis video stream in, and out a Kinesis data stream, objects under the S3 mapping
(``S3Destination``), or both.  ``Settings.ConnectedHome``
(PERSON / PET / PACKAGE label detection) needs a detector of whole people, pets and parcels
that this deployment's models are not: it is refused with a message saying so, rather than
answered by a face detector pretending to see people.

The ARNs must be mapped to what they stand for on this deployment (``agnosco video-sources
add``, ``agnosco data-sinks add``); an unmapped one is refused when the processor is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agnosco.errors import InvalidParameterException
from agnosco.operations.collection_faces import DEFAULT_FACE_MATCH_THRESHOLD, require_face_model
from agnosco.operations.context import OperationContext
from agnosco.streams.objects import ObjectError, ObjectWriter
from agnosco.streams.store import StreamProcessor

#: Rekognition raises a stream processor's FaceMatchThreshold to at least this.
MIN_FACE_MATCH_THRESHOLD = 80.0
#: CreateStreamProcessor members kept as the processor's definition (Describe answers them).
DEFINITION_MEMBERS = (
    "Input",
    "Output",
    "Settings",
    "RoleArn",
    "NotificationChannel",
    "KmsKeyId",
    "RegionsOfInterest",
    "DataSharingPreference",
    "Tags",
)


def face_search_settings(definition: Mapping[str, Any]) -> dict[str, Any] | None:
    settings = definition.get("Settings") or {}
    face_search = settings.get("FaceSearch")
    return dict(face_search) if face_search is not None else None


def check_definition(definition: dict[str, Any], context: OperationContext) -> dict[str, Any]:
    """The definition as it is kept (threshold raised and defaulted).

    :raises InvalidParameterException: settings or mappings this deployment cannot run.
    :raises ResourceNotFoundException: the FaceSearch collection does not exist."""
    settings = definition.get("Settings") or {}
    if "ConnectedHome" in settings:
        raise InvalidParameterException(
            "Settings.ConnectedHome (PERSON, PET and PACKAGE label detection) is not available:"
            " this deployment's models detect faces, not whole people, pets or packages."
        )
    face_search = face_search_settings(definition)
    if face_search is None:
        raise InvalidParameterException("Settings must have FaceSearch.")
    collection_id = face_search.get("CollectionId")
    if not collection_id:
        raise InvalidParameterException("Settings.FaceSearch.CollectionId is required.")
    collection = context.require_store().get_collection(collection_id)
    require_face_model(context, collection)
    face_search["FaceMatchThreshold"] = effective_threshold(face_search)
    video = (definition.get("Input") or {}).get("KinesisVideoStream")
    if not video or not video.get("Arn"):
        raise InvalidParameterException("Input.KinesisVideoStream.Arn is required.")
    output = definition.get("Output") or {}
    data = output.get("KinesisDataStream")
    destination = output.get("S3Destination")
    if not data and not destination:
        raise InvalidParameterException(
            "Output needs a KinesisDataStream (its Arn) or an S3Destination (its Bucket)."
        )
    if data is not None and not data.get("Arn"):
        raise InvalidParameterException("Output.KinesisDataStream.Arn is required.")
    if destination is not None:
        if not destination.get("Bucket"):
            raise InvalidParameterException("Output.S3Destination.Bucket is required.")
        try:
            ObjectWriter(context.videos.s3_dir, context.videos.s3_client).check_bucket(
                destination["Bucket"]
            )
        except ObjectError as exc:
            raise InvalidParameterException(str(exc)) from exc
    streams = context.require_streams()
    if streams.video_source(video["Arn"]) is None:
        raise InvalidParameterException(
            f"No video source is mapped to {video['Arn']}: map it on the server with"
            " `agnosco video-sources add ARN URL`."
        )
    if data is not None and streams.data_sink(data["Arn"]) is None:
        raise InvalidParameterException(
            f"No data sink is mapped to {data['Arn']}: map it on the server with"
            " `agnosco data-sinks add ARN --jsonl PATH` or `--webhook URL`."
        )
    regions = definition.get("RegionsOfInterest") or []
    for region in regions:
        if bool(region.get("BoundingBox")) == bool(region.get("Polygon")):
            raise InvalidParameterException(
                "Each of RegionsOfInterest has either a BoundingBox or a Polygon."
            )
    kept = {k: definition[k] for k in DEFINITION_MEMBERS if k in definition}
    kept["Settings"] = {"FaceSearch": face_search}
    return kept


def effective_threshold(face_search: Mapping[str, Any]) -> float:
    """The FaceMatchThreshold a processor runs with: the default 80, and never below 80."""
    requested = float(face_search.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD))
    return max(requested, MIN_FACE_MATCH_THRESHOLD)


def describe(processor: StreamProcessor) -> dict[str, Any]:
    """The DescribeStreamProcessor members of ``processor``."""
    out: dict[str, Any] = {
        "Name": processor.name,
        "StreamProcessorArn": processor.arn,
        "Status": processor.status,
        "CreationTimestamp": datetime.fromtimestamp(processor.created_at, UTC),
        "LastUpdateTimestamp": datetime.fromtimestamp(processor.updated_at, UTC),
    }
    if processor.status_message is not None:
        out["StatusMessage"] = processor.status_message
    for member in DEFINITION_MEMBERS:
        if member in processor.definition and member != "Tags":
            out[member] = processor.definition[member]
    return out


def governed_view(request: Mapping[str, Any], context: OperationContext) -> dict[str, Any]:
    """What governance sees of a stream processor call: the request with the collection and
    threshold of the processor's face search (the request's own Settings for
    CreateStreamProcessor, the stored processor's for the calls that name one), so that policy
    keys (``rekognition:CollectionId``, ``rekognition:FaceMatchThreshold``,
    ``agnosco:Identification``) hold on every call that starts or defines identification."""
    view = dict(request)
    face_search = face_search_settings(request)
    if face_search is None and "Name" in request and context.streams is not None:
        processor = context.streams.find(str(request["Name"]))
        face_search = face_search_settings(processor.definition) if processor else None
    if face_search is not None and face_search.get("CollectionId"):
        view["CollectionId"] = face_search["CollectionId"]
        view["FaceMatchThreshold"] = effective_threshold(face_search)
    return view


def require_processor(name: str, context: OperationContext) -> StreamProcessor:
    """:raises ResourceNotFoundException: no such processor."""
    return context.require_streams().get(name)
