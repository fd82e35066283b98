"""The public figures a deployment recognizes (RecognizeCelebrities), in its database.

Rekognition recognizes celebrities from a collection Amazon curates; a self-hosted Agnosco
recognizes only the people its deployer enrols, with ``agnosco celebrities add``.  Each
celebrity is a row (component ``celebrities``): a stable id of the kind Rekognition gives
(short, alphanumeric: the model's ``RekognitionUniqueId`` pattern ``[0-9A-Za-z]*``), the name,
the URLs the deployer gives, the known gender *only as the deployer states it* (never inferred;
None when not stated), and the face descriptors of the images it was enrolled from, each with
the face model that made it.  No image is kept, as no collection keeps one: descriptors only.

Every change is one transaction: a celebrity is added with all of its descriptors or not at
all, and removed with all of them.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agnosco.errors import InvalidParameterException, ResourceNotFoundException
from agnosco.storage.database import Database, Tables, Transaction

#: The ``celebrities`` component's migrations (:meth:`Database.migrate`).
MIGRATIONS = [
    [
        """CREATE TABLE celebrities (
            celebrity_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            urls TEXT NOT NULL,
            known_gender TEXT,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE celebrity_faces (
            celebrity_id TEXT NOT NULL REFERENCES celebrities (celebrity_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            face_model_version TEXT NOT NULL,
            descriptor BLOB NOT NULL,
            PRIMARY KEY (celebrity_id, seq)
        )""",
    ],
]
#: The model's KnownGenderType values: what a deployer may state, never what a model guesses.
KNOWN_GENDERS = ("Male", "Female", "Nonbinary", "Unlisted")
#: Characters and length of a new id (Rekognition's look like ``1SK7cR8M``).
_ID_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 8
#: Rekognition's Urls list holds at most 255 URLs (the model's ``Urls`` shape).
MAX_URLS = 255
MAX_NAME = 1024


@dataclass(frozen=True)
class Celebrity:
    celebrity_id: str
    name: str
    urls: tuple[str, ...]
    #: As the deployer stated it (one of :data:`KNOWN_GENDERS`), or None: never inferred.
    known_gender: str | None
    created_at: float
    #: How many face descriptors it was enrolled with (one per image).
    faces: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "Id": self.celebrity_id,
            "Name": self.name,
            "Urls": list(self.urls),
            **({"KnownGender": self.known_gender} if self.known_gender else {}),
            "Faces": self.faces,
            "CreatedAt": self.created_at,
        }


@dataclass(frozen=True)
class CelebrityDescriptors:
    """Every enrolled descriptor of one face model, for a search: row ``i`` of ``vectors`` is
    a face of the celebrity ``owners[i]``."""

    owners: tuple[str, ...]
    vectors: np.ndarray  # float32, (faces, descriptor length)


class CelebrityStore(Tables):
    """The celebrities in ``database`` (closed by :meth:`close` only when ``owned``) or a
    SQLite file at that path; safe to share between threads and processes."""

    def __init__(
        self,
        database: Path | Database,
        *,
        owned: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._attach(database, owned, lambda db: db.migrate("celebrities", MIGRATIONS))
        self._clock = clock or time.time

    def add(
        self,
        name: str,
        descriptors: Sequence[np.ndarray],
        face_model_version: str,
        *,
        urls: Sequence[str] = (),
        known_gender: str | None = None,
    ) -> Celebrity:
        """A new celebrity with its descriptors (at least one), in one transaction.

        :raises InvalidParameterException: no name or descriptor, too many URLs, or a known
            gender that is not one of the model's values.
        """
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidParameterException(
                f"A celebrity needs a name of 1 to {MAX_NAME} characters."
            )
        if not descriptors:
            raise InvalidParameterException("A celebrity needs at least one image of their face.")
        if len(urls) > MAX_URLS:
            raise InvalidParameterException(f"A celebrity has at most {MAX_URLS} URLs.")
        if known_gender is not None and known_gender not in KNOWN_GENDERS:
            raise InvalidParameterException(
                f"KnownGender must be one of {', '.join(KNOWN_GENDERS)}, not {known_gender!r}."
            )
        now = self._clock()
        with self._db.write() as tx:
            celebrity_id = _new_id(tx)
            tx.execute(
                "INSERT INTO celebrities (celebrity_id, name, urls, known_gender, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (celebrity_id, name, json.dumps(list(urls)), known_gender, now),
            )
            tx.executemany(
                "INSERT INTO celebrity_faces (celebrity_id, seq, face_model_version, descriptor)"
                " VALUES (?, ?, ?, ?)",
                [
                    (celebrity_id, seq, face_model_version, _blob(vector))
                    for seq, vector in enumerate(descriptors)
                ],
            )
        return self.get(celebrity_id)

    def get(self, celebrity_id: str) -> Celebrity:
        """:raises ResourceNotFoundException: no celebrity has that id."""
        with self._db.read() as tx:
            rows = self._select(tx, "WHERE c.celebrity_id = ?", (celebrity_id,))
        if not rows:
            raise ResourceNotFoundException(f"No celebrity has the id {celebrity_id}.")
        return rows[0]

    def find(self, celebrity_ids: Iterable[str]) -> dict[str, Celebrity]:
        """Those of ``celebrity_ids`` that exist, by id (one read, whatever their number)."""
        wanted = sorted(set(celebrity_ids))
        if not wanted:
            return {}
        with self._db.read() as tx:
            rows = self._select(
                tx, f"WHERE c.celebrity_id IN ({', '.join('?' * len(wanted))})", wanted
            )
        return {c.celebrity_id: c for c in rows}

    def all(self) -> list[Celebrity]:
        """Every celebrity, by name then id."""
        with self._db.read() as tx:
            return self._select(tx, "", ())

    def remove(self, celebrity_id: str) -> Celebrity:
        """Delete a celebrity and every descriptor of it, in one transaction; returns what was
        deleted.

        :raises ResourceNotFoundException: no celebrity has that id."""
        with self._db.write() as tx:
            rows = self._select(tx, "WHERE c.celebrity_id = ?", (celebrity_id,))
            if not rows:
                raise ResourceNotFoundException(f"No celebrity has the id {celebrity_id}.")
            tx.execute("DELETE FROM celebrity_faces WHERE celebrity_id = ?", (celebrity_id,))
            tx.execute("DELETE FROM celebrities WHERE celebrity_id = ?", (celebrity_id,))
        return rows[0]

    def descriptors(self, face_model_version: str, length: int) -> CelebrityDescriptors:
        """Every descriptor made by that face model (of that length), for a search."""
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT celebrity_id, descriptor FROM celebrity_faces"
                " WHERE face_model_version = ? ORDER BY celebrity_id, seq",
                (face_model_version,),
            ).fetchall()
        kept = [
            (owner, vector)
            for owner, stored in rows
            if (vector := np.frombuffer(bytes(stored), dtype=np.float32)).size == length
        ]
        if not kept:
            return CelebrityDescriptors((), np.empty((0, length), np.float32))
        return CelebrityDescriptors(
            tuple(owner for owner, _ in kept), np.stack([vector for _, vector in kept])
        )

    def _select(self, tx: Transaction, where: str, params: Sequence[Any]) -> list[Celebrity]:
        rows = tx.execute(
            "SELECT c.celebrity_id, c.name, c.urls, c.known_gender, c.created_at,"
            " (SELECT COUNT(*) FROM celebrity_faces f WHERE f.celebrity_id = c.celebrity_id)"
            f" FROM celebrities c {where} ORDER BY c.name, c.celebrity_id",
            params,
        ).fetchall()
        return [
            Celebrity(str(i), str(n), tuple(json.loads(u)), g, float(t), int(k))
            for i, n, u, g, t, k in rows
        ]


def _new_id(tx: Transaction) -> str:
    """An id no celebrity has (62^8 of them: a collision is retried, never reused)."""
    while True:
        candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
        taken = tx.execute(
            "SELECT 1 FROM celebrities WHERE celebrity_id = ?", (candidate,)
        ).fetchone()
        if taken is None:
            return candidate


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()
