"""Readers for labelled face sets laid out as in ``shared/data``.

* an identity CSV ``file,identity[,...]`` beside an ``images/`` folder (deepface-pairs);
* a pairs CSV ``file_a,file_b,same`` (deepface-pairs ``pairs_exhaustive.csv``);
* a folder of images where every image is a different person (UTKFace chips).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from agnosco.vision.image import sniff_format


@dataclass(frozen=True)
class Pair:
    file_a: str
    file_b: str
    same: bool
    fold: str | None = None  # the protocol's fold, where the pairs file has a ``fold`` column


def rekognition_bytes(path: Path) -> bytes:
    """The file's bytes, transcoded to PNG when it is neither JPEG nor PNG.

    Rekognition takes only JPEG and PNG; the shared sets hold one WebP named ``.jpg``.
    Evaluations transcode such files so that every tool compared sees the same pixels.
    """
    return as_rekognition_format(path.read_bytes())


def as_rekognition_format(data: bytes) -> bytes:
    """``data`` unchanged if JPEG or PNG, else transcoded to PNG (see :func:`rekognition_bytes`)."""
    if sniff_format(data) in ("JPEG", "PNG"):
        return data
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def read_identities(csv_path: Path) -> dict[str, str]:
    """file -> identity from a ``file,identity`` CSV."""
    with open(csv_path, newline="") as fh:
        return {row["file"]: row["identity"] for row in csv.DictReader(fh)}


def read_pairs(csv_path: Path) -> list[Pair]:
    """Pairs from a ``file_a,file_b,same[,fold]`` CSV (``same``: 1/true/yes)."""
    with open(csv_path, newline="") as fh:
        return [
            Pair(
                row["file_a"],
                row["file_b"],
                row["same"].strip() in ("1", "true", "True", "yes"),
                row.get("fold") or None,
            )
            for row in csv.DictReader(fh)
        ]


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


# --- labelled data sets for `agnosco evaluate` -------------------------------------------------

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: Identity labels naming several people ("person01+others") mark multi-person images; they
#: cannot stand for one identity and are left out of identity metrics.
MULTI_PERSON_MARK = "+"
_NON_GROUP_COLUMNS = {"file", "identity", "note", "notes", "path"}


@dataclass(frozen=True)
class Sample:
    path: Path
    name: str  # as the labels name it (relative path)
    identity: str | None
    groups: dict[str, str]


@dataclass(frozen=True)
class LabelledPair:
    a: str
    b: str
    same: bool
    fold: str | None = None


@dataclass(frozen=True)
class Dataset:
    source: Path
    samples: list[Sample]
    pairs: list[LabelledPair] | None  # None: derive pairs from identities
    group_columns: list[str]
    distinct: bool  # every unlabelled image is a different person

    @property
    def identities(self) -> set[str]:
        return {s.identity for s in self.samples if s.identity}

    def fingerprint(self) -> str:
        """SHA-256 over every image's bytes and label, and the pairs: identifies the data set."""
        import hashlib

        h = hashlib.sha256()
        for s in sorted(self.samples, key=lambda s: s.name):
            h.update(f"{s.name}\0{s.identity}\0{sorted(s.groups.items())}\0".encode())
            h.update(hashlib.sha256(s.path.read_bytes()).digest())
        for p in self.pairs or []:
            h.update(f"{p.a}\0{p.b}\0{p.same}\0{p.fold}\n".encode())
        h.update(b"distinct" if self.distinct else b"")
        return h.hexdigest()


def load_dataset(
    source: Path,
    *,
    pairs_csv: Path | None = None,
    group_columns: list[str] | None = None,
    distinct: bool = False,
) -> Dataset:
    """A labelled set from identity folders (``root/<identity>/<image>``, the LFW layout) or from a
    CSV ``file,identity[,<group columns>...]`` (``identity`` may be absent: then only detection
    failures, and with ``distinct`` impostor-only metrics, can be computed).

    CSV file names are relative to the CSV's folder or to an ``images/`` folder beside it.
    Group columns default to every other column with at most 20 distinct values.

    :raises ValueError: for an unreadable layout, a missing image, or an unknown group column.
    """
    source = Path(source)
    if source.is_dir():
        samples = [
            Sample(path, f"{folder.name}/{path.name}", folder.name, {})
            for folder in sorted(p for p in source.iterdir() if p.is_dir())
            for path in sorted(folder.iterdir())
            if path.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not samples:
            raise ValueError(f"{source} has no <identity>/<image> folders")
        columns: list[str] = []
    elif source.suffix.lower() == ".csv":
        samples, columns = _from_csv(source, group_columns)
    else:
        raise ValueError(f"{source} is neither a folder of identity folders nor a CSV file")
    pairs = None
    if pairs_csv is not None:
        known = {s.name for s in samples}
        with open(pairs_csv, newline="") as fh:
            rows = list(csv.DictReader(fh))
        pairs = [
            LabelledPair(
                r["file_a"],
                r["file_b"],
                r["same"].strip().lower() in ("1", "true", "yes"),
                r.get("fold"),
            )
            for r in rows
        ]
        missing = sorted({n for p in pairs for n in (p.a, p.b)} - known)
        if missing:
            raise ValueError(f"pairs name images that are not in the data set: {missing[:5]}")
    return Dataset(source, samples, pairs, columns, distinct)


def _from_csv(path: Path, group_columns: list[str] | None) -> tuple[list[Sample], list[str]]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "file" not in rows[0]:
        raise ValueError(f"{path} needs a 'file' column")
    candidates = [c for c in rows[0] if c not in _NON_GROUP_COLUMNS]
    if group_columns is None:
        columns = [c for c in candidates if 1 < len({r[c] for r in rows}) <= 20]
    else:
        unknown = sorted(set(group_columns) - set(candidates))
        if unknown:
            raise ValueError(f"no such group columns in {path}: {unknown}")
        columns = group_columns
    samples = []
    for row in rows:
        image = _resolve(path.parent, row["file"])
        identity = (row.get("identity") or "").strip() or None
        if identity and MULTI_PERSON_MARK in identity:
            identity = None
        samples.append(Sample(image, row["file"], identity, {c: row[c] for c in columns}))
    return samples, columns


def _resolve(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / "images" / name):
        if candidate.is_file():
            return candidate
    raise ValueError(f"image {name} not found in {folder} or {folder / 'images'}")
