"""agnosco.vision.dlib_resnet: dlib's face ResNet on onnxruntime gives dlib's own descriptors."""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
import pytest
from PIL import Image

from agnosco.vision.dlib_resnet import (
    CHIP_SIZE,
    DESCRIPTOR_SIZE,
    FILENAME,
    DlibFormatError,
    DlibResNet,
    onnx_model,
    read_weights,
)
from agnosco.vision.models import dlib_weights

#: Largest absolute difference allowed per descriptor component.
TOLERANCE = 1e-4
MIN_FACES = 10


@pytest.fixture(scope="module")
def resnet() -> DlibResNet:
    return DlibResNet()


@pytest.fixture(scope="module")
def dlib_net():  # type: ignore[no-untyped-def]
    return dlib.face_recognition_model_v1(str(dlib_weights(FILENAME)))


@pytest.fixture(scope="module")
def face_chips(deepface_images: Path) -> np.ndarray:
    """150 x 150 chips aligned by dlib itself (HOG, 5 landmarks, ``get_face_chip``)."""
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(str(dlib_weights("shape_predictor_5_face_landmarks.dat")))
    chips = []
    for path in sorted(deepface_images.glob("*.jpg")):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        for rect in detector(pixels, 0):
            chips.append(dlib.get_face_chip(pixels, shapes(pixels, rect), size=150, padding=0.25))
        if len(chips) >= MIN_FACES + 2:
            break
    assert len(chips) >= MIN_FACES, f"only {len(chips)} faces found in {deepface_images}"
    return np.stack(chips)


def noise_chips(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)


def dlib_descriptors(net, chips: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([net.compute_face_descriptor(chip) for chip in chips], dtype=np.float32)


@pytest.mark.slow
def test_real_faces_match_dlib(resnet: DlibResNet, dlib_net, face_chips: np.ndarray) -> None:
    expected = dlib_descriptors(dlib_net, face_chips)
    got = resnet.describe(face_chips)
    assert got.shape == (len(face_chips), DESCRIPTOR_SIZE) and got.dtype == np.float32
    assert np.abs(got - expected).max() < TOLERANCE


def test_noise_chips_match_dlib(resnet: DlibResNet, dlib_net) -> None:
    chips = noise_chips(2)
    assert np.abs(resnet.describe(chips) - dlib_descriptors(dlib_net, chips)).max() < TOLERANCE


def test_a_batch_equals_single_chips(resnet: DlibResNet) -> None:
    chips = noise_chips(8, seed=1)
    singles = np.concatenate([resnet.describe(chips[i : i + 1]) for i in range(len(chips))])
    np.testing.assert_allclose(resnet.describe(chips), singles, rtol=0, atol=1e-6)


def test_input_must_be_uint8_chips(resnet: DlibResNet) -> None:
    assert resnet.describe(noise_chips(0)).shape == (0, DESCRIPTOR_SIZE)
    with pytest.raises(ValueError, match="uint8"):
        resnet.describe(noise_chips(1).astype(np.float32))
    with pytest.raises(ValueError, match="150 x 150"):
        resnet.describe(noise_chips(1)[0])
    with pytest.raises(ValueError, match="150 x 150"):
        resnet.describe(np.zeros((1, 112, 112, 3), dtype=np.uint8))


def test_the_onnx_model_is_valid() -> None:
    import onnx

    onnx.checker.check_model(onnx_model(read_weights(dlib_weights(FILENAME))))


@pytest.mark.parametrize("keep", [0, 1, 20, 300, 0.5, -1])
def test_a_truncated_file_is_a_clear_error(tmp_path: Path, keep: float) -> None:
    data = dlib_weights(FILENAME).read_bytes()
    cut = tmp_path / FILENAME
    cut.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(DlibFormatError, match="truncated"):
        read_weights(cut)


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    data = dlib_weights(FILENAME).read_bytes()
    corrupt = tmp_path / FILENAME
    corrupt.write_bytes(data.replace(b"con_4", b"con_9", 1))
    with pytest.raises(DlibFormatError, match="expected 'con_4', found 'con_9'"):
        read_weights(corrupt)
    corrupt.write_bytes(data[:17] + b"\x7f" + data[18:])  # the margin's first control byte
    with pytest.raises(DlibFormatError, match="invalid integer control byte 0x7f at byte 17"):
        read_weights(corrupt)
    corrupt.write_bytes(data + b"\x00")
    with pytest.raises(DlibFormatError, match="unexpected bytes after the network"):
        read_weights(corrupt)


def test_another_dlib_model_is_a_clear_error() -> None:
    with pytest.raises(DlibFormatError, match="is not dlib's face ResNet"):
        read_weights(dlib_weights("shape_predictor_5_face_landmarks.dat"))


def test_a_broken_file_fails_on_first_use(tmp_path: Path) -> None:
    broken = tmp_path / FILENAME
    broken.write_bytes(dlib_weights(FILENAME).read_bytes()[:1000])
    with pytest.raises(DlibFormatError, match="truncated"):
        DlibResNet(broken).describe(noise_chips(1))
