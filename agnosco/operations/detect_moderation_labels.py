"""DetectModerationLabels: unsafe content in an image, as Rekognition's moderation labels.

What is reported comes from ``vision/moderation.py``: open_nsfw's one score, as the top-level
label ``Explicit`` (TaxonomyLevel 1, ParentName ``""``) from a score of 20 up; no other category
of Rekognition's taxonomy is detected (``docs/analysis.md``).  Rekognition's rules, as its model
documents them:

* ``MinConfidence`` (0-100, default 50): no label under it is returned.
* ``ModerationModelVersion``: Agnosco's numbering of its model (``1.0``).
* ``ProjectVersion`` names a custom adapter (CreateProjectVersion).  Agnosco has no projects,
  so any adapter named is one that does not exist: ``ResourceNotFoundException``, as Rekognition
  answers for a project version it does not know.  A response never has ``ProjectVersion``
  (Rekognition leaves it out when the base model answered).
* ``ContentTypes`` (animated, illustrated...) is never returned: the model cannot tell a
  drawing from a photograph.
* ``HumanLoopConfig`` sends the result to Agnosco's own review queue instead of Amazon
  Augmented AI (:class:`~agnosco.operations.context.HumanLoopRequest`): a person decides it, and
  the decision is recorded and audited (``agnosco review decide``).  Agnosco's activation
  condition is fixed (there are no flow definitions to hold others): a loop starts when the
  response reports at least one moderation label, as an A2I ``ModerationLabelConfidenceCheck``
  on every label (``"*"``) with ``ConfidenceGreaterThanEquals`` MinConfidence would.  The
  output then names the review (``HumanLoopArn``: ``arn:aws:agnosco:REGION:ACCOUNT:review/ID``,
  the id ``agnosco review show`` takes) and the reason, ``ConditionsEvaluation``, as Rekognition
  names a loop its conditions started; ``HumanLoopActivationConditionsEvaluationResults`` is
  that condition and its result, in A2I's JSON form, whether or not it started a loop.
  ``FlowDefinitionArn`` must be a SageMaker flow-definition ARN (SageMaker's pattern); it and
  ``DataAttributes.ContentClassifiers`` are kept in the review as the caller gave them.
  The review keeps the image's SHA-256 (and its S3 location when read from S3), never the image.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import regex

from agnosco.errors import (
    InternalServerError,
    InvalidParameterException,
    ResourceNotFoundException,
)
from agnosco.operations.context import HumanLoopRequest, OperationContext
from agnosco.vision.moderation import (
    MODERATION_MODEL_VERSION,
    REPORTING_THRESHOLD,
    ModerationLabel,
)

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        ContentTypeTypeDef,
        DetectModerationLabelsRequestTypeDef,
        HumanLoopActivationOutputTypeDef,
        HumanLoopConfigTypeDef,
        ModerationLabelTypeDef,
    )

OPERATION = "DetectModerationLabels"
#: MinConfidence when the request gives none (the model's documentation).
DEFAULT_MIN_CONFIDENCE = 50.0
#: SageMaker's pattern for a FlowDefinitionArn (its CreateFlowDefinition output).
FLOW_DEFINITION_ARN = regex.compile(
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:flow-definition/[a-z0-9](-*[a-z0-9]){0,62}"
)
#: The reason Rekognition gives for a human loop its activation conditions started.
ACTIVATED_BY_CONDITIONS = "ConditionsEvaluation"


class DetectModerationLabelsResponse(TypedDict, total=False):
    ModerationLabels: list[ModerationLabelTypeDef]
    ModerationModelVersion: str
    HumanLoopActivationOutput: HumanLoopActivationOutputTypeDef
    ProjectVersion: str
    ContentTypes: list[ContentTypeTypeDef]


def detect_moderation_labels(
    request: DetectModerationLabelsRequestTypeDef, context: OperationContext
) -> DetectModerationLabelsResponse:
    """:raises ResourceNotFoundException: a ProjectVersion (Agnosco has no custom adapters).
    :raises InvalidParameterException: a FlowDefinitionArn that is not one.
    :raises InternalServerError: a human loop to start and no review queue to start it in.
    :raises ServiceError: an invalid image (see :func:`~agnosco.vision.image.decode_image`)."""
    if "ProjectVersion" in request:
        raise ResourceNotFoundException(
            f"The project version {request['ProjectVersion']} does not exist: Agnosco has no "
            "custom moderation adapters; leave ProjectVersion out to use the base model."
        )
    loop = request.get("HumanLoopConfig")
    if loop is not None and not FLOW_DEFINITION_ARN.fullmatch(loop["FlowDefinitionArn"]):
        raise InvalidParameterException(
            "HumanLoopConfig.FlowDefinitionArn must be a flow definition's ARN "
            "(arn:aws:sagemaker:REGION:ACCOUNT:flow-definition/NAME)."
        )
    min_confidence = float(request.get("MinConfidence", DEFAULT_MIN_CONFIDENCE))
    image = context.load_image(request["Image"])
    labels = moderation_labels(context.moderation.labels(image), min_confidence)
    response: DetectModerationLabelsResponse = {
        "ModerationLabels": labels,
        "ModerationModelVersion": MODERATION_MODEL_VERSION,
    }
    if loop is not None:
        identified: dict[str, Any] = {"SHA256": image.sha256}
        identified |= {"Width": image.width, "Height": image.height, "Format": image.format}
        if "S3Object" in request["Image"]:
            identified["S3Object"] = dict(request["Image"]["S3Object"])
        response["HumanLoopActivationOutput"] = human_loop(
            loop, labels, min_confidence, identified, context
        )
    return response


def moderation_labels(
    labels: list[ModerationLabel], min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> list[ModerationLabelTypeDef]:
    """The labels at or above ``min_confidence``, highest first, as the API's ModerationLabel."""
    return [
        {
            "Confidence": min(100.0, max(0.0, label.confidence)),
            "Name": label.name,
            "ParentName": label.parent,
            "TaxonomyLevel": label.level,
        }
        for label in sorted(labels, key=lambda x: -x.confidence)
        if label.confidence >= min_confidence
    ]


def frame_moderation_labels(
    pixels: np.ndarray, context: OperationContext, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> list[ModerationLabelTypeDef]:
    """The ModerationLabels of one decoded video frame (RGB, H x W x 3 uint8), as
    DetectModerationLabels reports them for an image: what a content moderation job records for
    each sampled frame (with its Timestamp)."""
    return moderation_labels(context.moderation.frame_labels(pixels), min_confidence)


def activation_results(min_confidence: float, activated: bool) -> str:
    """Agnosco's activation condition and its result, in A2I's JSON form: any label at or above
    the confidence from which labels are returned (MinConfidence, or the model's reporting
    threshold when MinConfidence is below it)."""
    condition = {
        "ConditionType": "ModerationLabelConfidenceCheck",
        "ConditionParameters": {
            "ModerationLabelName": "*",
            "ConfidenceGreaterThanEquals": max(min_confidence, REPORTING_THRESHOLD),
        },
        "EvaluationResult": activated,
    }
    return json.dumps({"Conditions": [condition]}, separators=(",", ":"))


def human_loop(
    loop: HumanLoopConfigTypeDef,
    labels: list[ModerationLabelTypeDef],
    min_confidence: float,
    image: dict[str, Any],
    context: OperationContext,
) -> HumanLoopActivationOutputTypeDef:
    """Start a review when a label was reported; say whether one was started and why."""
    activated = bool(labels)
    output: HumanLoopActivationOutputTypeDef = {
        "HumanLoopActivationConditionsEvaluationResults": activation_results(
            min_confidence, activated
        )
    }
    if not activated:
        return output
    if context.human_loops is None:
        raise InternalServerError("HumanLoopConfig needs a review queue; none is configured.")
    classifiers = (loop.get("DataAttributes") or {}).get("ContentClassifiers") or []
    review_id = context.human_loops(
        HumanLoopRequest(
            OPERATION,
            loop["HumanLoopName"],
            loop["FlowDefinitionArn"],
            tuple(classifiers),
            image,
            [dict(label) for label in labels],
            min_confidence,
            context.requester,
        )
    )
    output["HumanLoopArn"] = (
        f"arn:aws:agnosco:{context.region}:{context.account_id}:review/{review_id}"
    )
    output["HumanLoopActivationReasons"] = [ACTIVATED_BY_CONDITIONS]
    return output
