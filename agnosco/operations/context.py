"""What operations share: the face pipeline, Similarity calibration, images and videos,
storage, jobs, and who is asking from where (region and account, for ARNs)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agnosco.errors import InternalServerError
from agnosco.jobs.notifications import NotificationEndpoints
from agnosco.jobs.store import JobStore
from agnosco.operations.images import ImageSource
from agnosco.operations.videos import VideoSource
from agnosco.settings import DEFAULT_ACCOUNT, DEFAULT_REGION
from agnosco.storage.base import Store
from agnosco.vision.embedding import DESCRIPTOR, DescriptorModel
from agnosco.vision.image import DecodedImage
from agnosco.vision.pipeline import FaceAnalyzer
from agnosco.vision.similarity import SimilarityCalibration


@dataclass(frozen=True)
class FaceModel:
    """A face model as a collection records it: the version Rekognition reports as
    FaceModelVersion and IndexFacesModelVersion (the API's pattern is [0-9.]+), and the
    descriptors it makes.  A collection is searched and added to only by its own model."""

    version: str
    descriptor: DescriptorModel


#: Agnosco's own numbering of its face model: dlib's ResNet v1 with calibration family 1.
FACE_MODEL = FaceModel("1.0", DESCRIPTOR)


@dataclass
class OperationContext:
    analyzer: FaceAnalyzer = field(default_factory=FaceAnalyzer)
    #: The model ``analyzer`` is: what new collections are made with.
    face_model: FaceModel = FACE_MODEL
    calibration: SimilarityCalibration = field(default_factory=SimilarityCalibration.load)
    images: ImageSource = field(default_factory=ImageSource)
    videos: VideoSource = field(default_factory=VideoSource)
    store: Store | None = None
    #: Where Start operations put their jobs (the server's runtime works them).
    jobs: JobStore | None = None
    #: SNS topic ARNs a Start call's NotificationChannel may name (None: none may be named).
    notifications: NotificationEndpoints | None = None
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    #: The consent reference the caller declared for this request (x-agnosco-consent-ref).
    consent_reference: str | None = None
    #: Who the call is for and with which key (the gate sets them; a job records them).
    principal: str | None = None
    access_key_id: str | None = None
    #: Appends a record to the deployment's audit log: what a job that identifies records
    #: of the matches it makes after its Start was audited (None: no log, such jobs refuse).
    audit: Callable[[dict[str, Any]], object] | None = None
    clock: Callable[[], float] = time.time
    #: Signs pagination tokens; the server derives a stable one so tokens survive restarts.
    token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def load_image(self, image: Mapping[str, Any]) -> DecodedImage:
        return self.images.load(image)

    def require_store(self) -> Store:
        if self.store is None:
            raise InternalServerError("This operation needs storage; none is configured.")
        return self.store

    def require_jobs(self) -> JobStore:
        if self.jobs is None:
            raise InternalServerError("This operation needs a job store; none is configured.")
        return self.jobs

    def collection_arn(self, collection_id: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account_id}:collection/{collection_id}"

    def user_arn(self, collection_id: str, user_id: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account_id}:collection/{collection_id}/user/{user_id}"


#: The name the face-core operations were first published under.
FaceContext = OperationContext
