"""The evaluation report as typed records: what ``agnosco evaluate`` writes and everything reads.

:class:`EvaluationReport` is the whole report (``report.json`` in an evaluation's folder); its
sections are the records below and the result records of :mod:`.metrics`.  The HTML page, the
command line and governance (``agnosco:WorstGroupFMR``, through
:class:`~.records.EvaluationIndex`) all read these records, never the JSON by key.

On disk each record is a JSON object of its fields (``to_json``; :func:`format_report` writes
the file).  A value that cannot be measured is ``null`` (None here), never a string; reports
written before that, with ``"nan"``/``"inf"`` strings, are read as what they meant
(:func:`parse_report`, through :class:`~.json_fields.JsonFields`).  The layout is the one those
reports had, so a stored report of either kind reads the same way: in particular the worst-group
FMR curve is stored inside ``groups``, under ``worst_group_fmr``, beside the group columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from agnosco.evaluation.json_fields import JsonFields, JsonObject
from agnosco.evaluation.metrics import (
    GroupComparison,
    IdentificationResult,
    Rate,
    ThresholdAtFMR,
    VerificationPoint,
)

__all__ = [
    "AtTargetFMR",
    "DatasetSummary",
    "DetPoints",
    "Enrolment",
    "EvaluationReport",
    "GroupColumn",
    "Identification",
    "ModelVersions",
    "Thresholds",
    "Verification",
    "WorstGroupPoint",
    "format_report",
    "parse_report",
]

#: The key of the worst-group FMR curve inside the stored ``groups`` object.
WORST_GROUP_FMR = "worst_group_fmr"


@dataclass(frozen=True)
class ModelVersions:
    """What was measured: the descriptor, the face model and the Similarity calibration."""

    descriptor: str
    face_model_version: str
    calibration_version: str

    def to_json(self) -> JsonObject:
        return {
            "descriptor": self.descriptor,
            "face_model_version": self.face_model_version,
            "calibration_version": self.calibration_version,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> ModelVersions:
        return cls(
            descriptor=data.text("descriptor"),
            face_model_version=data.text("face_model_version"),
            calibration_version=data.text("calibration_version"),
        )


@dataclass(frozen=True)
class DatasetSummary:
    """What it was measured on; ``pairs_source`` says how pairs were formed."""

    source: str
    fingerprint: str
    samples: int
    identities: int
    group_columns: tuple[str, ...]
    pairs_source: str

    def to_json(self) -> JsonObject:
        return {
            "source": self.source,
            "fingerprint": self.fingerprint,
            "samples": self.samples,
            "identities": self.identities,
            "group_columns": list(self.group_columns),
            "pairs_source": self.pairs_source,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> DatasetSummary:
        return cls(
            source=data.text("source"),
            fingerprint=data.text("fingerprint"),
            samples=data.integer("samples"),
            identities=data.integer("identities"),
            group_columns=data.texts("group_columns"),
            pairs_source=data.text("pairs_source"),
        )


@dataclass(frozen=True)
class Thresholds:
    """The deployed Similarity threshold, the fixed points and the group ratio limit."""

    deployed: float
    similarity_points: tuple[float, ...]
    ratio_limit: float

    def to_json(self) -> JsonObject:
        return {
            "deployed": self.deployed,
            "similarity_points": list(self.similarity_points),
            "ratio_limit": self.ratio_limit,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> Thresholds:
        return cls(
            deployed=data.number("deployed"),
            similarity_points=data.numbers("similarity_points"),
            ratio_limit=data.number("ratio_limit"),
        )


def _rates_json(rates: Mapping[str, Rate]) -> JsonObject:
    return {name: rate.to_json() for name, rate in rates.items()}


def _rates(data: JsonFields, key: str) -> dict[str, Rate]:
    return {name: Rate.from_json(rate) for name, rate in data.by_name(key).items()}


@dataclass(frozen=True)
class Enrolment:
    """Failure to enrol overall and per group column and value; ``reasons`` counts the
    failures by reason and ``failed`` names the samples."""

    overall: Rate
    reasons: Mapping[str, int]
    failed: tuple[str, ...]
    by_group: Mapping[str, Mapping[str, Rate]]

    def to_json(self) -> JsonObject:
        return {
            "overall": self.overall.to_json(),
            "reasons": dict(self.reasons),
            "failed": list(self.failed),
            "by_group": {column: _rates_json(rates) for column, rates in self.by_group.items()},
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> Enrolment:
        by_group = data.nested("by_group")
        return cls(
            overall=Rate.from_json(data.nested("overall")),
            reasons=data.integers_by_name("reasons"),
            failed=data.texts("failed"),
            by_group={column: _rates(by_group, column) for column in by_group.names()},
        )


@dataclass(frozen=True)
class AtTargetFMR:
    """The threshold for one target FMR and the FNMR there (None without a threshold, that
    is without impostor pairs, or without genuine pairs)."""

    target: ThresholdAtFMR
    fnmr: Rate | None

    def to_json(self) -> JsonObject:
        return {
            "target": self.target.to_json(),
            "fnmr": None if self.fnmr is None else self.fnmr.to_json(),
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> AtTargetFMR:
        fnmr = data.nested_or_none("fnmr")
        return cls(
            target=ThresholdAtFMR.from_json(data.nested("target")),
            fnmr=None if fnmr is None else Rate.from_json(fnmr),
        )


@dataclass(frozen=True)
class DetPoints:
    """The DET curve at up to ``DET_POINTS`` of its thresholds (descending): FMR and FNMR."""

    thresholds: tuple[float, ...]
    fmr: tuple[float, ...]
    fnmr: tuple[float, ...]

    def to_json(self) -> JsonObject:
        return {
            "thresholds": list(self.thresholds),
            "fmr": list(self.fmr),
            "fnmr": list(self.fnmr),
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> DetPoints:
        return cls(data.numbers("thresholds"), data.numbers("fmr"), data.numbers("fnmr"))


@dataclass(frozen=True)
class Verification:
    """1:1 results over the genuine and impostor pairs.  ``det``, ``eer`` and ``auc`` are None
    unless there are pairs of both kinds; ``folds`` holds the deployed threshold's results per
    fold of labelled pairs."""

    genuine_pairs: int
    impostor_pairs: int
    pairs_lost_to_enrolment: int
    at_similarity: tuple[VerificationPoint, ...]
    at_target_fmr: tuple[AtTargetFMR, ...]
    det: DetPoints | None
    eer: float | None
    auc: float | None
    folds: Mapping[str, VerificationPoint]

    def to_json(self) -> JsonObject:
        return {
            "genuine_pairs": self.genuine_pairs,
            "impostor_pairs": self.impostor_pairs,
            "pairs_lost_to_enrolment": self.pairs_lost_to_enrolment,
            "at_similarity": [p.to_json() for p in self.at_similarity],
            "at_target_fmr": [t.to_json() for t in self.at_target_fmr],
            "det": None if self.det is None else self.det.to_json(),
            "eer": self.eer,
            "auc": self.auc,
            "folds": {fold: p.to_json() for fold, p in self.folds.items()},
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> Verification:
        det = data.nested_or_none("det")
        return cls(
            genuine_pairs=data.integer("genuine_pairs"),
            impostor_pairs=data.integer("impostor_pairs"),
            pairs_lost_to_enrolment=data.integer("pairs_lost_to_enrolment"),
            at_similarity=tuple(VerificationPoint.from_json(p) for p in data.each("at_similarity")),
            at_target_fmr=tuple(AtTargetFMR.from_json(t) for t in data.each("at_target_fmr")),
            det=None if det is None else DetPoints.from_json(det),
            eer=data.measured_or_omitted("eer"),
            auc=data.measured_or_omitted("auc"),
            folds={
                fold: VerificationPoint.from_json(p) for fold, p in data.by_name("folds").items()
            },
        )


@dataclass(frozen=True)
class Identification:
    """1:N results: the gallery's size and :class:`~.metrics.IdentificationResult`."""

    gallery_images: int
    result: IdentificationResult
    deployed_threshold: float

    def to_json(self) -> JsonObject:
        return {
            "gallery_images": self.gallery_images,
            "result": self.result.to_json(),
            "deployed_threshold": self.deployed_threshold,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> Identification:
        return cls(
            gallery_images=data.integer("gallery_images"),
            result=IdentificationResult.from_json(data.nested("result")),
            deployed_threshold=data.number("deployed_threshold"),
        )


@dataclass(frozen=True)
class GroupColumn:
    """One group column's per-group rates and disparities at the deployed threshold and at 99."""

    at_deployed: GroupComparison
    at_99: GroupComparison

    def to_json(self) -> JsonObject:
        return {"at_deployed": self.at_deployed.to_json(), "at_99": self.at_99.to_json()}

    @classmethod
    def from_json(cls, data: JsonFields) -> GroupColumn:
        return cls(
            at_deployed=GroupComparison.from_json(data.nested("at_deployed")),
            at_99=GroupComparison.from_json(data.nested("at_99")),
        )


@dataclass(frozen=True)
class WorstGroupPoint:
    """At one whole Similarity, the highest FMR of any group with enough impostor pairs, and
    which (``column``, ``group``); ``all``/``all`` when no group has enough."""

    threshold: float
    fmr: float
    column: str
    group: str

    def to_json(self) -> JsonObject:
        return {
            "threshold": self.threshold,
            "fmr": self.fmr,
            "column": self.column,
            "group": self.group,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> WorstGroupPoint:
        return cls(
            threshold=data.number("threshold"),
            fmr=data.number("fmr"),
            column=data.text("column"),
            group=data.text("group"),
        )


@dataclass(frozen=True)
class EvaluationReport:
    """One evaluation: what was measured on what, every result, and the plain-language flags."""

    agnosco_version: str
    #: ISO 8601 UTC time of the evaluation, to the second.
    created: str
    #: ``in-process`` or ``server <endpoint>``.
    mode: str
    model: ModelVersions
    dataset: DatasetSummary
    thresholds: Thresholds
    enrolment: Enrolment
    verification: Verification
    #: None when no 1:N search could be formed (fewer than two identities).
    identification: Identification | None
    #: Per group column.
    groups: Mapping[str, GroupColumn]
    #: At every whole Similarity from 50 to 100 (what ``agnosco:WorstGroupFMR`` answers);
    #: empty without impostor pairs.
    worst_group_fmr: tuple[WorstGroupPoint, ...]
    flags: tuple[str, ...]

    def to_json(self) -> JsonObject:
        groups: JsonObject = {column: g.to_json() for column, g in self.groups.items()}
        groups[WORST_GROUP_FMR] = [p.to_json() for p in self.worst_group_fmr]
        return {
            "agnosco_version": self.agnosco_version,
            "created": self.created,
            "mode": self.mode,
            "model": self.model.to_json(),
            "dataset": self.dataset.to_json(),
            "thresholds": self.thresholds.to_json(),
            "enrolment": self.enrolment.to_json(),
            "verification": self.verification.to_json(),
            "identification": None
            if self.identification is None
            else self.identification.to_json(),
            "groups": groups,
            "flags": list(self.flags),
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> EvaluationReport:
        groups = data.nested("groups")
        identification = data.nested_or_none("identification")
        return cls(
            agnosco_version=data.text("agnosco_version"),
            created=data.text("created"),
            mode=data.text("mode"),
            model=ModelVersions.from_json(data.nested("model")),
            dataset=DatasetSummary.from_json(data.nested("dataset")),
            thresholds=Thresholds.from_json(data.nested("thresholds")),
            enrolment=Enrolment.from_json(data.nested("enrolment")),
            verification=Verification.from_json(data.nested("verification")),
            identification=None
            if identification is None
            else Identification.from_json(identification),
            groups={
                column: GroupColumn.from_json(groups.nested(column))
                for column in groups.names()
                if column != WORST_GROUP_FMR
            },
            worst_group_fmr=tuple(
                WorstGroupPoint.from_json(p) for p in groups.each(WORST_GROUP_FMR)
            ),
            flags=data.texts("flags"),
        )


def format_report(report: EvaluationReport) -> str:
    """The report as the text of ``report.json``; a non-finite number is an error, not a string."""
    return json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n"


def parse_report(text: str) -> EvaluationReport:
    """A report from the text of ``report.json``, as this version or an older one wrote it.

    :raises ValueError: the text is not JSON, or :class:`~.json_fields.ReportFormatError`
        naming the field that is missing or of the wrong type.
    """
    return EvaluationReport.from_json(JsonFields(json.loads(text)))
