"""The Get-time arrangements of frame-analysis results (``operations/frame_analysis.py``):
SortBy NAME and AggregateBy SEGMENTS, on results shaped as GetContentModeration's, including
the gaps a segment does and does not bridge."""

from __future__ import annotations

from typing import Any

from agnosco.operations.frame_analysis import by_name, segments


def _at(ms: int, name: str, confidence: float, **extra: Any) -> dict[str, Any]:
    return {"Timestamp": ms, "ModerationLabel": {"Name": name, "Confidence": confidence, **extra}}


def test_by_name_groups_alphabetically_most_confident_first_ties_in_time_order() -> None:
    results = [_at(0, "b", 60), _at(0, "a", 70), _at(500, "b", 90), _at(1000, "b", 60)]
    assert [
        (r["ModerationLabel"]["Name"], r["Timestamp"]) for r in by_name(results, "ModerationLabel")
    ] == [
        ("a", 0),
        ("b", 500),
        ("b", 0),
        ("b", 1000),
    ]


def test_segments_join_consecutive_samples_and_break_at_a_missed_one() -> None:
    # sampled every 500 ms of a 25 fps video: 540 bridges a sample taken a frame late,
    # 1000 (one sample without the label) does not
    results = [  # in time order, as the job stored them
        _at(0, "x", 60, Extra=1),
        _at(540, "x", 80, Extra=2),
        _at(1040, "x", 70, Extra=3),
        _at(1040, "y", 55),
        _at(2040, "x", 50, Extra=4),
    ]
    found = segments(results, "ModerationLabel", period_ms=500, frame_ms=40, drop=("Extra",))
    assert [
        (
            s["ModerationLabel"]["Name"],
            s["StartTimestampMillis"],
            s["EndTimestampMillis"],
            s["DurationMillis"],
        )
        for s in found
    ] == [("x", 0, 1040, 1040), ("y", 1040, 1040, 0), ("x", 2040, 2040, 0)]
    assert [s["Timestamp"] for s in found] == [0, 1040, 2040]
    assert found[0]["ModerationLabel"] == {"Name": "x", "Confidence": 80}  # the most confident


def test_a_video_slower_than_the_sampling_rate_is_consecutive_frame_to_frame() -> None:
    """At 1 fps sampled at 2 a second every frame is a sample, 1000 ms apart."""
    results = [_at(0, "x", 60), _at(1000, "x", 60), _at(2000, "x", 60)]
    found = segments(results, "ModerationLabel", period_ms=500, frame_ms=1000)
    assert [(s["StartTimestampMillis"], s["EndTimestampMillis"]) for s in found] == [(0, 2000)]
