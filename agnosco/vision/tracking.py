"""Faces followed from frame to frame, so that one person keeps one index through a video.

The tracker is ByteTrack as Roboflow's maintained ``trackers`` package implements it (Apache-2.0,
on ``supervision``'s Detections; Kalman-filtered boxes matched by IoU, high-confidence faces
first, then low-confidence ones to keep tracks alive).  A face becomes a *person* once the
tracker confirms its track — on the second sampled frame it is seen in — and keeps that person's
index while the track lives (it survives :data:`LOST_FRAMES` sampled frames without the face).
Indices count from 0 in the order persons are confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from agnosco.vision.geometry import Box

#: Sampled frames a track waits for its face before it ends (2 s at 5 frames a second).
LOST_FRAMES = 10


class FaceTracker:
    """Person indices for the faces of successive frames of one video."""

    def __init__(self, frame_rate: float) -> None:
        self._tracker = ByteTrackTracker(
            lost_track_buffer=LOST_FRAMES,
            frame_rate=frame_rate,
            track_activation_threshold=0.5,
            minimum_consecutive_frames=1,
            high_conf_det_threshold=0.6,
        )
        self._indices: dict[int, int] = {}

    def update(
        self, boxes: Sequence[Box], confidences: Sequence[float], width: int, height: int
    ) -> list[int | None]:
        """Each face's person index in this frame (None: not yet a confirmed person); ``boxes``
        in ratios of a ``width`` x ``height`` frame, ``confidences`` 0-100."""
        if not boxes:
            self._tracker.update(sv.Detections.empty())
            return []
        xyxy = np.array(
            [
                [
                    b.left * width,
                    b.top * height,
                    (b.left + b.width) * width,
                    (b.top + b.height) * height,
                ]
                for b in boxes
            ],
            dtype=float,
        )
        detections = sv.Detections(
            xyxy=xyxy,
            confidence=np.asarray(confidences, dtype=float) / 100.0,
            class_id=np.zeros(len(boxes), dtype=int),
            data={"face": np.arange(len(boxes))},
        )
        tracked = self._tracker.update(detections)
        people: list[int | None] = [None] * len(boxes)
        if tracked.tracker_id is None:
            return people
        for face, track in zip(tracked.data["face"], tracked.tracker_id, strict=True):
            if int(track) < 0:
                continue
            index = self._indices.setdefault(int(track), len(self._indices))
            people[int(face)] = index
        return people
