"""Rekognition operations as plain functions: a request dict in, a response dict out.

Each operation is one function ``operation(request, context)`` in its own module (the three
tag operations share one); the request is shaped like the operation's input shape in
botocore's model (blobs as ``bytes``), typed with the TypedDict types-boto3-rekognition
generates from that model, and the response is a ``<Operation>Response`` TypedDict declared
beside the function with the model's output members, each typed with the stubs' shapes
(the stubs' own ``<Operation>ResponseTypeDef`` adds botocore's client-side
``ResponseMetadata`` and makes every member required; ``tests/operations/test_response_types.py``
checks ours member for member against both).
:func:`invoke` is the one entry point: it validates the request against the model before the
handler runs.  Operations raise :class:`agnosco.errors.ServiceError` subclasses and know
nothing of HTTP.

To add an operation: write ``<snake_name>.py`` with the function, add one line to
:data:`REGISTRY` with its :class:`~agnosco.operations.traits.Traits` (what governance must
know of it: ``tests/operations/test_traits.py`` checks them against the model).  An operation
of the model that is not in the table answers ``NotImplementedException``, never a canned
success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agnosco import spec
from agnosco.errors import NotImplementedException, UnknownOperationException
from agnosco.jobs.runtime import Runner
from agnosco.operations.associate_faces import DEFAULT_ASSOCIATE_THRESHOLD, associate_faces
from agnosco.operations.celebrities import CELEBRITY_MATCH_THRESHOLD
from agnosco.operations.celebrity_recognition_job import celebrity_recognition_runner
from agnosco.operations.collection_faces import DEFAULT_FACE_MATCH_THRESHOLD
from agnosco.operations.compare_faces import DEFAULT_SIMILARITY_THRESHOLD, compare_faces
from agnosco.operations.content_moderation_job import content_moderation_runner
from agnosco.operations.context import FaceContext, OperationContext
from agnosco.operations.create_collection import create_collection
from agnosco.operations.create_stream_processor import create_stream_processor
from agnosco.operations.create_user import create_user
from agnosco.operations.delete_collection import delete_collection
from agnosco.operations.delete_faces import delete_faces
from agnosco.operations.delete_stream_processor import delete_stream_processor
from agnosco.operations.delete_user import delete_user
from agnosco.operations.describe_collection import describe_collection
from agnosco.operations.describe_stream_processor import describe_stream_processor
from agnosco.operations.detect_faces import detect_faces
from agnosco.operations.detect_labels import detect_labels
from agnosco.operations.detect_moderation_labels import detect_moderation_labels
from agnosco.operations.detect_text import detect_text
from agnosco.operations.disassociate_faces import disassociate_faces
from agnosco.operations.face_detection_job import face_detection_runner
from agnosco.operations.face_redaction_job import face_redaction_runner
from agnosco.operations.face_search_job import face_search_runner
from agnosco.operations.get_celebrity_info import get_celebrity_info
from agnosco.operations.get_celebrity_recognition import get_celebrity_recognition
from agnosco.operations.get_content_moderation import get_content_moderation
from agnosco.operations.get_face_detection import get_face_detection
from agnosco.operations.get_face_search import get_face_search
from agnosco.operations.get_label_detection import get_label_detection
from agnosco.operations.get_segment_detection import get_segment_detection
from agnosco.operations.get_text_detection import get_text_detection
from agnosco.operations.index_faces import index_faces
from agnosco.operations.label_detection_job import label_detection_runner
from agnosco.operations.list_collections import list_collections
from agnosco.operations.list_faces import list_faces
from agnosco.operations.list_stream_processors import list_stream_processors
from agnosco.operations.list_users import list_users
from agnosco.operations.recognize_celebrities import recognize_celebrities
from agnosco.operations.search_faces import search_faces
from agnosco.operations.search_faces_by_image import search_faces_by_image
from agnosco.operations.search_users import search_users
from agnosco.operations.search_users_by_image import search_users_by_image
from agnosco.operations.segment_detection_job import segment_detection_runner
from agnosco.operations.start_celebrity_recognition import start_celebrity_recognition
from agnosco.operations.start_content_moderation import start_content_moderation
from agnosco.operations.start_face_detection import start_face_detection
from agnosco.operations.start_face_redaction import (
    DEFAULT_SPARE_THRESHOLD,
    INPUT_SHAPE,
    INPUT_SHAPES,
    start_face_redaction,
)
from agnosco.operations.start_face_search import start_face_search
from agnosco.operations.start_label_detection import start_label_detection
from agnosco.operations.start_segment_detection import start_segment_detection
from agnosco.operations.start_stream_processor import start_stream_processor
from agnosco.operations.start_text_detection import start_text_detection
from agnosco.operations.stop_stream_processor import stop_stream_processor
from agnosco.operations.stream_face_search import face_search_analysis
from agnosco.operations.stream_processors import governed_view
from agnosco.operations.tag_resource import list_tags_for_resource, tag_resource, untag_resource
from agnosco.operations.text_detection_job import text_detection_runner
from agnosco.operations.traits import CHANGE, READ, Resource, Threshold, Traits
from agnosco.operations.update_stream_processor import update_stream_processor
from agnosco.operations.users import DEFAULT_USER_MATCH_THRESHOLD
from agnosco.streams.runtime import AnalysisFactory

#: A response as the layers above see it: members of the operation's output shape.
Response = Mapping[str, Any]
#: An operation: its request (validated against the model first, so of its TypedDict's shape) and
#: the shared context, to its response (its module's ``<Operation>Response``).
Handler = Callable[[Any, OperationContext], Response]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    traits: Traits


@dataclass(frozen=True)
class Extension(Operation):
    """An Agnosco operation beyond Rekognition's model: governed by the same gate, validated
    against its own input shape (botocore's JSON form, on the model's member shapes), and not
    on the Rekognition wire (the server answers it UnknownOperationException)."""

    #: (name, shapes JSON) of its input shape (:func:`agnosco.spec.extended_shape`).
    input_shape: tuple[str, str] = ("", "{}")


FACE_MATCH = Threshold("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD)
USER_MATCH = Threshold("UserMatchThreshold", DEFAULT_USER_MATCH_THRESHOLD)
_USER_CHANGE = Traits(Resource.USER, changes_state=True)
_GLOBAL = Traits(Resource.NONE)
#: Defining or starting a stream processor: identification when it searches a collection.
_STREAM_SEARCH = Traits(
    Resource.STREAM_PROCESSOR, changes_state=True, face_search_settings=True, defers_matches=True
)
_STREAM_CHANGE = Traits(Resource.STREAM_PROCESSOR, changes_state=True)

REGISTRY: dict[str, Operation] = {
    "AssociateFaces": Operation(
        associate_faces,
        Traits(
            Resource.USER,
            changes_state=True,
            compares_faces=True,
            threshold=Threshold("UserMatchThreshold", DEFAULT_ASSOCIATE_THRESHOLD),
        ),
    ),
    "CompareFaces": Operation(
        compare_faces,
        Traits(
            Resource.NONE,
            compares_faces=True,
            threshold=Threshold("SimilarityThreshold", DEFAULT_SIMILARITY_THRESHOLD),
            withheld="FaceMatches",
            analyses_images=True,
        ),
    ),
    "CreateCollection": Operation(create_collection, CHANGE),
    "CreateStreamProcessor": Operation(create_stream_processor, _STREAM_SEARCH),
    "CreateUser": Operation(create_user, _USER_CHANGE),
    "DeleteCollection": Operation(delete_collection, CHANGE),
    "DeleteFaces": Operation(delete_faces, CHANGE),
    "DeleteStreamProcessor": Operation(delete_stream_processor, _STREAM_CHANGE),
    "DeleteUser": Operation(delete_user, _USER_CHANGE),
    "DescribeCollection": Operation(describe_collection, READ),
    "DescribeStreamProcessor": Operation(
        describe_stream_processor, Traits(Resource.STREAM_PROCESSOR)
    ),
    "DetectFaces": Operation(detect_faces, Traits(Resource.NONE, analyses_images=True)),
    "DetectLabels": Operation(detect_labels, Traits(Resource.NONE, analyses_images=True)),
    "DetectModerationLabels": Operation(
        detect_moderation_labels, Traits(Resource.NONE, analyses_images=True)
    ),
    "DetectText": Operation(detect_text, Traits(Resource.NONE, analyses_images=True)),
    "DisassociateFaces": Operation(disassociate_faces, _USER_CHANGE),
    "GetCelebrityInfo": Operation(get_celebrity_info, _GLOBAL),
    "GetCelebrityRecognition": Operation(
        get_celebrity_recognition,
        Traits(Resource.NONE, compares_faces=True, withheld="Celebrities"),
    ),
    "GetFaceDetection": Operation(get_face_detection, _GLOBAL),
    "GetFaceSearch": Operation(
        get_face_search,
        Traits(Resource.NONE, compares_faces=True, withheld="Persons"),
    ),
    "GetSegmentDetection": Operation(get_segment_detection, _GLOBAL),
    "GetTextDetection": Operation(get_text_detection, _GLOBAL),
    "GetLabelDetection": Operation(get_label_detection, _GLOBAL),
    "GetContentModeration": Operation(get_content_moderation, _GLOBAL),
    "IndexFaces": Operation(
        index_faces, Traits(Resource.COLLECTION, changes_state=True, analyses_images=True)
    ),
    "ListCollections": Operation(list_collections, _GLOBAL),
    "ListFaces": Operation(
        list_faces, Traits(Resource.USER)
    ),  # the user ARN when filtered by UserId
    "ListStreamProcessors": Operation(list_stream_processors, _GLOBAL),
    "ListTagsForResource": Operation(list_tags_for_resource, Traits(Resource.TAGGED)),
    "ListUsers": Operation(list_users, READ),
    "RecognizeCelebrities": Operation(
        recognize_celebrities,
        Traits(
            Resource.NONE,
            compares_faces=True,
            withheld="CelebrityFaces",
            analyses_images=True,
            engine_threshold=CELEBRITY_MATCH_THRESHOLD,
        ),
    ),
    "SearchFaces": Operation(
        search_faces,
        Traits(
            Resource.COLLECTION,
            compares_faces=True,
            threshold=FACE_MATCH,
            withheld="FaceMatches",
        ),
    ),
    "SearchFacesByImage": Operation(
        search_faces_by_image,
        Traits(
            Resource.COLLECTION,
            compares_faces=True,
            threshold=FACE_MATCH,
            withheld="FaceMatches",
            analyses_images=True,
        ),
    ),
    "SearchUsers": Operation(
        search_users,
        Traits(
            Resource.USER,
            compares_faces=True,
            threshold=USER_MATCH,
            withheld="UserMatches",
        ),
    ),
    "SearchUsersByImage": Operation(
        search_users_by_image,
        Traits(
            Resource.COLLECTION,
            compares_faces=True,
            threshold=USER_MATCH,
            withheld="UserMatches",
            analyses_images=True,
        ),
    ),
    "StartCelebrityRecognition": Operation(
        start_celebrity_recognition,
        Traits(
            Resource.NONE,
            changes_state=True,
            compares_faces=True,
            engine_threshold=CELEBRITY_MATCH_THRESHOLD,
        ),
    ),
    "StartFaceDetection": Operation(
        start_face_detection, Traits(Resource.NONE, changes_state=True)
    ),
    "StartFaceSearch": Operation(
        start_face_search,
        Traits(Resource.COLLECTION, changes_state=True, compares_faces=True, threshold=FACE_MATCH),
    ),
    "StartSegmentDetection": Operation(
        start_segment_detection, Traits(Resource.NONE, changes_state=True)
    ),
    "StartStreamProcessor": Operation(start_stream_processor, _STREAM_SEARCH),
    "StartTextDetection": Operation(
        start_text_detection, Traits(Resource.NONE, changes_state=True)
    ),
    "StartLabelDetection": Operation(
        start_label_detection, Traits(Resource.NONE, changes_state=True)
    ),
    "StartContentModeration": Operation(
        start_content_moderation, Traits(Resource.NONE, changes_state=True)
    ),
    "StopStreamProcessor": Operation(stop_stream_processor, _STREAM_CHANGE),
    "TagResource": Operation(tag_resource, Traits(Resource.TAGGED, changes_state=True)),
    "UntagResource": Operation(untag_resource, Traits(Resource.TAGGED, changes_state=True)),
    "UpdateStreamProcessor": Operation(update_stream_processor, _STREAM_CHANGE),
}
#: operation -> handler
OPERATIONS: dict[str, Handler] = {name: op.handler for name, op in REGISTRY.items()}

#: Agnosco's own operations, which the command line calls through the gate
#: (:mod:`agnosco.operations.start_face_redaction` says why they are not on the wire).
EXTENSIONS: dict[str, Extension] = {
    "StartFaceRedaction": Extension(
        start_face_redaction,
        Traits(
            Resource.COLLECTION,
            changes_state=True,
            compares_faces_with="CollectionId",
            threshold=Threshold("FaceMatchThreshold", DEFAULT_SPARE_THRESHOLD),
        ),
        (INPUT_SHAPE, INPUT_SHAPES),
    ),
}

#: Job kind (``Start<Kind>`` stores it, ``Get<Kind>`` reads it) -> its work, given the context.
JOB_RUNNERS: dict[str, Callable[[OperationContext], Runner]] = {
    "FaceDetection": face_detection_runner,
    "FaceSearch": face_search_runner,
    "SegmentDetection": segment_detection_runner,
    "FaceRedaction": face_redaction_runner,
    "TextDetection": text_detection_runner,
    "CelebrityRecognition": celebrity_recognition_runner,
    "LabelDetection": label_detection_runner,
    "ContentModeration": content_moderation_runner,
}


def job_runners(context: OperationContext) -> dict[str, Runner]:
    """Every job kind's runner, working with ``context`` (the server's job runtime runs them)."""
    return {kind: make(context) for kind, make in JOB_RUNNERS.items()}


#: What a FaceSearch stream processor does with each frame (the server's stream runtime runs it).
STREAM_ANALYSIS: Callable[[OperationContext], AnalysisFactory] = face_search_analysis


def governed_request(
    operation: str, request: Mapping[str, Any], context: OperationContext
) -> dict[str, Any]:
    """What governance decides a call on: the request itself, or for a call that defines or
    starts a stream processor, the request with the collection and threshold the processor
    searches with (:func:`agnosco.operations.stream_processors.governed_view`)."""
    known = REGISTRY.get(operation)
    if known is not None and known.traits.face_search_settings:
        return governed_view(request, context)
    return dict(request)


def handler_for(operation: str) -> Handler:
    """:raises UnknownOperationException: not a Rekognition operation.
    :raises NotImplementedException: a Rekognition operation Agnosco does not implement."""
    if operation not in spec.service_model().operation_names:
        raise UnknownOperationException(f"Unknown operation: {operation}")
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise NotImplementedException(
            f"Agnosco does not implement the Rekognition operation {operation}."
        )
    return handler


def traits_of(operation: str) -> Traits:
    """What governance must know of an implemented operation, Rekognition's or Agnosco's own
    (:data:`EXTENSIONS`).

    :raises UnknownOperationException, NotImplementedException: as :func:`handler_for`.
    """
    if operation in EXTENSIONS:
        return EXTENSIONS[operation].traits
    handler_for(operation)
    return REGISTRY[operation].traits


def validate_request(operation: str, request: dict[str, Any]) -> None:
    """Check ``request`` against the operation's input shape in botocore's model (an
    extension's against its own).

    :raises InvalidParameterException, ImageTooLargeException: worded as AWS words them.
    """
    if operation in EXTENSIONS:
        spec.validate_shape(request, spec.extended_shape(*EXTENSIONS[operation].input_shape))
        return
    handler_for(operation)
    spec.validate(request, spec.input_shape_name(operation))


def invoke(operation: str, request: dict[str, Any], context: OperationContext) -> Response:
    """Validate ``request`` against the operation's input shape, then run the operation."""
    validate_request(operation, request)
    return run_validated(operation, request, context)


def run_validated(operation: str, request: dict[str, Any], context: OperationContext) -> Response:
    """Run the operation on a request :func:`validate_request` has passed (the governance gate
    validates before it authorizes, so it does not validate twice)."""
    if operation in EXTENSIONS:
        return EXTENSIONS[operation].handler(request, context)
    return handler_for(operation)(request, context)


__all__ = [
    "EXTENSIONS",
    "JOB_RUNNERS",
    "OPERATIONS",
    "REGISTRY",
    "FaceContext",
    "OperationContext",
    "Response",
    "compare_faces",
    "detect_faces",
    "handler_for",
    "invoke",
    "job_runners",
    "run_validated",
    "traits_of",
    "validate_request",
]
