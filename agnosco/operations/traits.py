"""What each operation is, as governance must know it: what it acts on, whether it changes
state, whether it compares faces with faces, its match threshold, and what review withholds.

Every operation in :data:`agnosco.operations.OPERATIONS` carries one :class:`Traits`; the
governance gate reads nothing else to decide which ARN a call acts on, whether it is
identification (the policy key ``agnosco:Identification``, the moratorium, threshold floors,
human review), and whether its audit record must be written before it runs.  A test walks
botocore's model to check each record against the operation's shapes (an operation with a
match threshold or a similarity in its output must be marked as comparing faces).

*Comparing faces* means the response says how alike two faces are, or lets the caller learn
it: a similarity, a match list filtered by a threshold the caller chooses, or an association
refused below such a threshold (AssociateFaces).  All of these can find a person among many
and are governed as identification; an operation that compares faces yet is not governed so
would be an identification oracle around the policy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Resource(enum.Enum):
    """What an operation's ARN names."""

    NONE = "none"  # "*": DetectFaces, CompareFaces, ListCollections
    COLLECTION = "collection"  # arn:...:collection/C
    USER = "user"  # arn:...:collection/C/user/U (collection/C* covers a collection and its users)
    TAGGED = "tagged"  # the request's ResourceArn
    STREAM_PROCESSOR = "streamprocessor"  # arn:...:streamprocessor/NAME (the request's Name)


@dataclass(frozen=True)
class Threshold:
    """The request member holding the call's match threshold, and Rekognition's default."""

    member: str
    default: float


@dataclass(frozen=True)
class Traits:
    resource: Resource
    #: The call changes stored state: its audit record is written before it runs (and its
    #: outcome after), so that no change is ever unrecorded.
    changes_state: bool = False
    #: The response compares faces with faces (see the module docstring): identification.
    compares_faces: bool = False
    #: For an operation that compares faces only when asked to, the request member that asks
    #: (Agnosco's redaction compares faces only to spare a collection's: ``CollectionId``); the
    #: call is identification whenever the member is given.
    compares_faces_with: str | None = None
    threshold: Threshold | None = None
    #: The call decodes images and runs models on them (seconds of CPU, not milliseconds): the
    #: server runs it on its bounded model queue, apart from the cheap calls.
    analyses_images: bool = False
    #: The response member review withholds until reviewers decide; None for an identification
    #: operation whose result cannot be held back (it changes state), which review cannot
    #: govern: a policy that requires review refuses it.
    withheld: str | None = None
    #: The call defines or starts a stream processor: it is identification exactly when the
    #: processor searches a collection (``Settings.FaceSearch``), with that collection and
    #: FaceMatchThreshold, which the gate reads from the request's Settings or the stored
    #: processor (``agnosco.operations.stream_processors.governed_view``).
    face_search_settings: bool = False
    #: The call's matches come later, outside its response (a stream processor's records): a
    #: review obligation is carried into the work it starts instead of withholding a member.
    defers_matches: bool = False
    #: For an identification whose request has no threshold member (RecognizeCelebrities), the
    #: Similarity the engine itself matches at: the call's ``agnosco:MatchThreshold``, which a
    #: policy's floor is checked against (it cannot be clamped: the caller cannot change it).
    engine_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.withheld and not (self.compares_faces or self.compares_faces_with):
            raise ValueError("only an operation that compares faces has matches to withhold")
        if self.defers_matches and not self.face_search_settings:
            raise ValueError("only a call that starts a face search defers its matches")
        if self.engine_threshold is not None and (self.threshold or not self.compares_faces):
            raise ValueError("an engine threshold is for an identification without one of its own")


READ = Traits(Resource.COLLECTION)
CHANGE = Traits(Resource.COLLECTION, changes_state=True)
