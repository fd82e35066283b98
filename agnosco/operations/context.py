"""What operations share: the face pipeline, the text reader, the label sources, Similarity
calibration, images and videos, storage, jobs, and who is asking from where (region and account, for ARNs).

An operation decodes each image of its request once, with :meth:`OperationContext.load_image`,
and hands that one :class:`~agnosco.vision.image.DecodedImage` to every model it runs; the
models themselves are loaded once per process (:data:`agnosco.vision.models.MODELS`), however
many contexts there are."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agnosco.errors import InternalServerError
from agnosco.jobs.notifications import NotificationEndpoints
from agnosco.jobs.store import JobStore
from agnosco.operations.images import ImageSource
from agnosco.operations.video_analysis import VideoCluster
from agnosco.operations.videos import VideoSource
from agnosco.settings import DEFAULT_ACCOUNT, DEFAULT_REGION
from agnosco.storage.base import Store
from agnosco.storage.celebrities import CelebrityStore
from agnosco.streams.store import StreamStore
from agnosco.vision.embedding import DESCRIPTOR, DescriptorModel
from agnosco.vision.image import DecodedImage
from agnosco.vision.labels import LabelSource
from agnosco.vision.moderation import ModerationClassifier
from agnosco.vision.person_labels import PersonLabels
from agnosco.vision.pipeline import FaceAnalyzer
from agnosco.vision.similarity import SimilarityCalibration
from agnosco.vision.text import TextReader


@dataclass(frozen=True)
class FaceModel:
    """A face model as a collection records it: the version Rekognition reports as
    FaceModelVersion and IndexFacesModelVersion (the API's pattern is [0-9.]+), and the
    descriptors it makes.  A collection is searched and added to only by its own model."""

    version: str
    descriptor: DescriptorModel


#: Agnosco's own numbering of its face model: dlib's ResNet v1 with calibration family 1.
FACE_MODEL = FaceModel("1.0", DESCRIPTOR)


@dataclass(frozen=True)
class Requester:
    """Who makes the call being run, as the governance gate established it, and what its
    policies oblige: what an operation that starts lasting work (a stream processor's session)
    keeps, so that the work stays the caller's, under the caller's obligations."""

    principal: str | None
    access_key_id: str | None
    purpose: str | None
    request_id: str | None
    #: Reviewers a policy requires before this call's matches may be seen (0: none).
    reviewers: int = 0
    #: The match threshold the gate raised the call's to (clamp mode), if it did.
    threshold: float | None = None
    #: The consent or authorisation reference the caller declared (x-agnosco-consent-ref).
    consent_reference: str | None = None
    #: The most faces the principal may have stored (its quota; None: no limit): IndexFaces
    #: refuses, writing nothing, a call that would store more (ServiceQuotaExceededException).
    face_quota: int | None = None


@dataclass(frozen=True)
class HumanLoopRequest:
    """A moderation result the caller asked a person to decide (DetectModerationLabels'
    HumanLoopConfig): what the deployment's review queue keeps of it, never the image."""

    operation: str
    #: HumanLoopConfig as the caller gave it: the loop's name, the flow definition it names,
    #: and the ContentClassifiers the caller declared of the image.
    name: str
    flow_definition_arn: str
    content_classifiers: tuple[str, ...]
    #: The image as the audit log identifies it: its SHA-256 and size, and its S3 location
    #: when it was read from one.
    image: dict[str, Any]
    #: The labels reported (ModerationLabel shapes), and the MinConfidence they were cut at.
    labels: list[dict[str, Any]]
    min_confidence: float
    requester: Requester | None


#: Queues a human loop as a review for a person to decide; returns the review's id.
HumanLoops = Callable[[HumanLoopRequest], str]


@dataclass
class OperationContext:
    analyzer: FaceAnalyzer = field(default_factory=FaceAnalyzer)
    #: The model ``analyzer`` is: what new collections are made with.
    face_model: FaceModel = FACE_MODEL
    calibration: SimilarityCalibration = field(default_factory=SimilarityCalibration.load)
    #: Reads lines and words of text (DetectText).
    text_reader: TextReader = field(default_factory=TextReader)
    #: What sees labels (DetectLabels), merged by name; None: the face engine's Person labels
    #: from ``analyzer`` alone (the deployment composes the full list: ``label_sources``).
    label_sources: Sequence[LabelSource] | None = None
    #: Scores images for unsafe content (DetectModerationLabels).
    moderation: ModerationClassifier = field(default_factory=ModerationClassifier)
    #: Where a DetectModerationLabels HumanLoopConfig sends its result for a person to decide
    #: (the deployment's review queue; None: none is configured, such calls fail).
    human_loops: HumanLoops | None = None
    images: ImageSource = field(default_factory=ImageSource)
    videos: VideoSource = field(default_factory=VideoSource)
    store: Store | None = None
    #: Where Start operations put their jobs (the server's runtime works them).
    jobs: JobStore | None = None
    #: SNS topic ARNs a Start call's NotificationChannel may name (None: none may be named).
    notifications: NotificationEndpoints | None = None
    #: Stream processors, and the video sources and data sinks their ARNs stand for.
    streams: StreamStore | None = None
    #: The public figures the deployer enrolled (RecognizeCelebrities, GetCelebrityInfo).
    celebrities: CelebrityStore | None = None
    #: The caller of the operation being run (set by the gate for each call).
    requester: Requester | None = None
    #: The Ray cluster long videos are analysed on (None: every video in the job's worker).
    video_cluster: VideoCluster | None = None
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    #: The consent reference the caller declared for this request (x-agnosco-consent-ref).
    consent_reference: str | None = None
    #: Appends a record to the deployment's audit log: what a job that identifies records
    #: of the matches it makes after its Start was audited (None: no log, such jobs refuse).
    audit: Callable[[dict[str, Any]], object] | None = None
    clock: Callable[[], float] = time.time
    #: Signs pagination tokens; the server derives a stable one so tokens survive restarts.
    token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def load_image(self, image: Mapping[str, Any]) -> DecodedImage:
        return self.images.load(image)

    def labelling(self) -> Sequence[LabelSource]:
        """The label sources DetectLabels runs (see :attr:`label_sources`)."""
        if self.label_sources is None:
            return (PersonLabels(self.analyzer),)
        return self.label_sources

    def require_store(self) -> Store:
        if self.store is None:
            raise InternalServerError("This operation needs storage; none is configured.")
        return self.store

    def require_jobs(self) -> JobStore:
        if self.jobs is None:
            raise InternalServerError("This operation needs a job store; none is configured.")
        return self.jobs

    def require_streams(self) -> StreamStore:
        if self.streams is None:
            raise InternalServerError("This operation needs a stream store; none is configured.")
        return self.streams

    def stream_processor_arn(self, name: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account_id}:streamprocessor/{name}"

    def collection_arn(self, collection_id: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account_id}:collection/{collection_id}"

    def user_arn(self, collection_id: str, user_id: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account_id}:collection/{collection_id}/user/{user_id}"


#: The name the face-core operations were first published under.
FaceContext = OperationContext
