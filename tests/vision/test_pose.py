"""Head pose from 68 landmarks, on synthetic faces projected with a known rotation."""

from __future__ import annotations

import numpy as np
import pytest

from agnosco.vision.pose import Pose, estimate_pose

W, H = 640, 480


def _pose(points: np.ndarray, width: int = W, height: int = H) -> Pose:
    pose = estimate_pose(points, width, height)
    assert isinstance(pose, Pose)
    for angle in (pose.roll, pose.yaw, pose.pitch):
        assert isinstance(angle, float)
        assert -180.0 <= angle <= 180.0
    return pose


def test_frontal_face_is_zero_pose(face_model):
    pose = _pose(face_model.project(face_model.layout()))
    assert abs(pose.roll) < 0.5 and abs(pose.yaw) < 0.5 and abs(pose.pitch) < 0.5


def test_mirror_index_is_an_involution(face_model):
    index = face_model.mirror_index
    assert sorted(index) == list(range(68))
    np.testing.assert_array_equal(index[index], np.arange(68))
    # The layout is left/right symmetric: mirroring it in x = 0 gives the same face.
    layout = face_model.layout()
    mirrored = layout[index] * np.array([-1, 1, 1])
    np.testing.assert_allclose(mirrored, layout, atol=1e-9)


@pytest.mark.parametrize("yaw", [-35.0, -20.0, -8.0, 8.0, 20.0, 35.0])
def test_yaw_is_recovered_with_its_sign(face_model, yaw):
    # Yaw > 0: the face turns towards the right of the image.
    pose = _pose(face_model.project(face_model.layout(), yaw=yaw))
    assert pose.yaw == pytest.approx(yaw, abs=2.0)
    assert abs(pose.pitch) < 2.0
    assert abs(pose.roll) < 3.0  # perspective: the nearer eye projects a little higher


def test_face_turned_right_has_nose_right_of_eyes_and_positive_yaw(face_model):
    points = face_model.project(face_model.layout(), yaw=25.0)
    assert points[30, 0] > points[36:48, 0].mean()  # the nose points to the image right
    assert _pose(points).yaw > 15.0


@pytest.mark.parametrize("roll", [-25.0, -10.0, 5.0, 15.0, 30.0])
def test_roll_is_recovered_with_its_sign(face_model, roll):
    # Roll > 0: clockwise in the image, i.e. the image-right eye lower than the image-left eye.
    points = face_model.project(face_model.layout(), roll=roll)
    right_eye_lower = points[42:48, 1].mean() > points[36:42, 1].mean()
    assert right_eye_lower == (roll > 0)
    pose = _pose(points)
    assert pose.roll == pytest.approx(roll, abs=1.0)
    assert abs(pose.yaw) < 2.0 and abs(pose.pitch) < 2.0


def test_upside_down_roll_stays_in_range(face_model):
    pose = _pose(face_model.project(face_model.layout(), roll=170.0))
    assert pose.roll == pytest.approx(170.0, abs=1.0)
    pose = _pose(face_model.project(face_model.layout(), roll=-170.0))
    assert pose.roll == pytest.approx(-170.0, abs=1.0)


@pytest.mark.parametrize("pitch", [-20.0, -10.0, 10.0, 20.0])
def test_pitch_magnitude_is_recovered(face_model, pitch):
    pose = _pose(face_model.project(face_model.layout(), pitch=pitch))
    assert abs(pose.pitch) == pytest.approx(abs(pitch), abs=2.0)
    assert abs(pose.yaw) < 2.0 and abs(pose.roll) < 2.0


@pytest.mark.parametrize("pitch", [-15.0, 15.0])
def test_pitch_sign_follows_documented_convention(face_model, pitch):
    points = face_model.project(face_model.layout(), pitch=pitch)
    # Chin up (pitch > 0): the nose tip rises towards the eyes in the image.
    eyes_y = points[36:48, 1].mean()
    frontal = face_model.project(face_model.layout())
    nose_to_eyes = points[30, 1] - eyes_y
    frontal_nose_to_eyes = frontal[30, 1] - frontal[36:48, 1].mean()
    assert (nose_to_eyes < frontal_nose_to_eyes) == (pitch > 0)
    assert _pose(points).pitch == pytest.approx(pitch, abs=2.0)


POSES = [
    {"yaw": 20.0},
    {"yaw": -30.0, "roll": 8.0},
    {"roll": 12.0, "pitch": 10.0},
    {"yaw": 15.0, "pitch": -12.0, "roll": -6.0},
    {"yaw": -40.0, "pitch": 8.0, "roll": 15.0},
]


def _pose_id(angles: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in angles.items())


@pytest.mark.parametrize("angles", POSES, ids=_pose_id)
@pytest.mark.parametrize("offset", [(0.0, 0.0), (-90.0, 40.0)], ids=["centred", "off-centre"])
def test_mirrored_landmarks_negate_roll_and_yaw_keep_pitch(face_model, angles, offset):
    points = face_model.project(face_model.layout(), offset=offset, **angles)
    assert np.all((points >= 0) & (points < [W, H])), "the test face must lie inside the image"
    pose = _pose(points)
    mirrored = _pose(face_model.mirror(points, W))
    if angles.get("yaw"):
        assert abs(pose.yaw) > 5.0  # a non-trivial yaw, so the sign check means something
        assert np.sign(mirrored.yaw) == -np.sign(pose.yaw)
    if angles.get("roll"):
        assert abs(pose.roll) > 3.0
        assert np.sign(mirrored.roll) == -np.sign(pose.roll)
    assert mirrored.roll == pytest.approx(-pose.roll, abs=2.0)
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=2.0)
    assert mirrored.pitch == pytest.approx(pose.pitch, abs=2.0)


@pytest.mark.parametrize("seed", range(5))
def test_mirror_symmetry_holds_for_noisy_landmarks(face_model, seed):
    rng = np.random.default_rng(seed)
    angles = {
        "yaw": rng.uniform(-30, 30),
        "pitch": rng.uniform(-15, 15),
        "roll": rng.uniform(-15, 15),
    }
    points = face_model.project(face_model.layout(), **angles)
    points = points + rng.normal(0.0, 1.0, points.shape)  # ~1 px of landmark noise
    pose, mirrored = _pose(points), _pose(face_model.mirror(points, W))
    assert mirrored.roll == pytest.approx(-pose.roll, abs=2.0)
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=2.0)
    assert mirrored.pitch == pytest.approx(pose.pitch, abs=2.0)


def test_plain_x_flip_without_reindexing_is_not_a_mirror(face_model):
    """Guards the mirror helper itself: flipping x without swapping sides is a different face."""
    points = face_model.project(face_model.layout(), yaw=25.0, roll=10.0)
    flipped_only = points.copy()
    flipped_only[:, 0] = W - flipped_only[:, 0]
    pose, wrong = _pose(points), _pose(flipped_only)
    assert abs(wrong.roll + pose.roll) > 5.0 or abs(wrong.yaw + pose.yaw) > 5.0
