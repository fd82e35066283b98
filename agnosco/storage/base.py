"""The storage interface every backend implements, and the records it deals in.

Rules every backend keeps (the shared test suite in ``tests/storage`` checks them):

* each method is atomic: it changes everything it is asked to or nothing (a failed
  ``add_faces`` leaves no face behind);
* missing collections raise :class:`ResourceNotFoundException`, taken ids
  :class:`ResourceAlreadyExistsException`;
* listing is in a stable order and resumes after a key the backend returned (``Page.next_key``,
  an opaque string of at most 128 characters), so pagination tokens stay valid while other
  writes happen; collections are listed in creation order, faces by FaceId, users by UserId;
* ``search`` sees every face committed before it started, in this process or another;
* every face stored has an interval (stored, deleted) that outlives the face, written in the
  transaction that stores or deletes it (usage is metered from them: ``face_storage``), and
  ``add_faces`` with a ``face_limit`` refuses, atomically, to take a principal's stored faces
  beyond it (:class:`ServiceQuotaExceededException`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import numpy as np


@dataclass(frozen=True)
class Collection:
    collection_id: str
    arn: str
    #: The face model that made the collection's descriptors (Rekognition's FaceModelVersion).
    face_model_version: str
    created_at: float  # epoch seconds
    #: Their length: every face added must have it, and searches are in that space.
    descriptor_size: int
    face_count: int = 0
    user_count: int = 0


@dataclass(frozen=True)
class FaceRecord:
    """One indexed face: metadata and descriptor, never pixels."""

    face_id: str
    image_id: str
    external_image_id: str | None
    left: float
    top: float
    width: float
    height: float
    confidence: float
    descriptor: np.ndarray = field(repr=False)  # float32, of its collection's descriptor_size
    indexed_at: float = 0.0
    user_id: str | None = None
    consent_ref: str | None = None  # the consent the enrolment rests on, when one was declared
    last_matched_at: float | None = None  # last time a search matched it (retention clock)


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    status: str  # Rekognition UserStatus: ACTIVE, UPDATING, CREATING, CREATED
    created_at: float
    updated_at: float


Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a listing and the key to resume after (None: no more)."""

    items: list[Item]
    next_key: str | None


@dataclass(frozen=True)
class RememberedRequest:
    """What a ClientRequestToken call left: its request's fingerprint and its response."""

    fingerprint: str
    response_json: str


@dataclass(frozen=True)
class FaceStorage:
    """Faces of a collection indexed by one principal, as stored over a span of time: their
    face-seconds in it (each face's time stored within the span) and how many are stored at
    its end."""

    principal: str | None
    collection_id: str
    face_seconds: float
    stored_at_end: int


@dataclass(frozen=True)
class SearchHit:
    face: FaceRecord
    distance: float


class Store(Protocol):
    # collections
    def create_collection(self, collection: Collection, tags: Mapping[str, str]) -> None: ...
    def get_collection(self, collection_id: str) -> Collection: ...
    def list_collections(self, after: str | None, limit: int) -> Page[Collection]: ...
    def delete_collection(self, collection_id: str, *, when: float | None = None) -> None: ...

    # faces
    def add_faces(
        self,
        collection_id: str,
        faces: list[FaceRecord],
        *,
        principal: str | None = None,
        face_limit: int | None = None,
    ) -> None: ...
    def get_faces(self, collection_id: str, face_ids: list[str]) -> list[FaceRecord]: ...
    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]: ...
    def list_faces(
        self,
        collection_id: str,
        after: str | None,
        limit: int,
        user_id: str | None = None,
        face_ids: Sequence[str] | None = None,
    ) -> Page[FaceRecord]: ...
    def delete_faces(
        self, collection_id: str, face_ids: list[str], *, when: float | None = None
    ) -> list[str]: ...
    def touch_faces(self, collection_id: str, face_ids: list[str], when: float) -> None: ...
    def expired_faces(
        self, collection_id: str, indexed_before: float | None, unmatched_before: float | None
    ) -> list[FaceRecord]: ...
    def search(
        self,
        collection_id: str,
        descriptor: np.ndarray,
        limit: int,
        max_distance: float,
        exclude_face_id: str | None = None,
    ) -> list[SearchHit]: ...

    # users
    def create_user(self, collection_id: str, user: UserRecord) -> None: ...
    def get_user(self, collection_id: str, user_id: str) -> UserRecord: ...
    def list_users(self, collection_id: str, after: str | None, limit: int) -> Page[UserRecord]: ...
    def delete_user(self, collection_id: str, user_id: str) -> None: ...
    def set_face_user(
        self, collection_id: str, face_ids: list[str], user_id: str | None
    ) -> None: ...
    def delete_empty_users(self, collection_id: str, created_before: float) -> list[str]: ...

    # tags, by resource ARN
    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None: ...
    def untag_resource(self, arn: str, keys: Sequence[str]) -> None: ...
    def list_tags(self, arn: str) -> dict[str, str]: ...

    # idempotency of ClientRequestToken operations
    def recall_request(self, scope: str, token: str) -> RememberedRequest | None: ...
    def remember_request(
        self, scope: str, token: str, fingerprint: str, response_json: str
    ) -> None: ...

    # usage metering: when each face was stored and deleted, by whom (agnosco.governance.usage)
    def face_storage(self, since: float, until: float) -> list[FaceStorage]: ...
    def faces_stored_by(self, principal: str) -> int: ...

    def compact(self) -> None:
        """Make deleted data unrecoverable from the backend's files (after a purge)."""
        ...

    def close(self) -> None: ...
