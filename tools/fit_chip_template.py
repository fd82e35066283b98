"""Measure ``agnosco.vision.alignment.CHIP_TEMPLATE``: where the detector's five points fall in
the chips dlib's descriptor network was trained on.

For each image of ``shared/data/lfw-dev`` where dlib's HOG detector finds a face, dlib's
5-point shape predictor places the eye corners and the base of the nose, and dlib's own chip
geometry (``get_face_chip_details``, size 150, padding 0.25: a least-squares similarity from
those points to dlib's template) gives the image -> chip transform.  The default detector's
five points for the same face (the detection whose box centre is nearest) are mapped through
it; the template is the per-point median, made mirror-symmetric about its own vertical axis.

    python tools/fit_chip_template.py [--data ../shared/data] [--every 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from agnosco.vision.alignment import CHIP_SIZE, similarity_transform
from agnosco.vision.detectors import make_detector
from agnosco.vision.image import decode_image
from agnosco.vision.models import dlib_weights

PADDING = 0.25
# dlib's get_face_chip_details template for its 5-point model (dlib/image_transforms/
# interpolation.h): image-right eye outer and inner corner, image-left eye outer and inner
# corner, the base of the nose; in [0, 1] before padding.
DLIB_5_POINT_TEMPLATE = np.array(
    [
        (0.8595674595992, 0.2134981538014),
        (0.6460604764104, 0.2289674387677),
        (0.1205750620789, 0.2137274526848),
        (0.3340850613712, 0.2290642403242),
        (0.4901123135679, 0.6277975316475),
    ]
)
MIRROR = [1, 0, 2, 4, 3]  # the partner of each of the five points in a mirrored face


def main() -> None:
    import dlib

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--every", type=int, default=2, help="use every N-th image")
    args = parser.parse_args()
    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_weights("shape_predictor_5_face_landmarks.dat")))
    detector = make_detector()
    dlib_chip = (PADDING + DLIB_5_POINT_TEMPLATE) / (2 * PADDING + 1) * CHIP_SIZE

    files = sorted((args.data / "lfw-dev" / "lfw").glob("*/*.jpg"))[:: args.every]
    in_chip = []
    for path in files:
        pixels = decode_image(path.read_bytes()).pixels
        rects = hog(pixels, 1)
        detections = detector.detect(pixels)
        if not len(rects) or not detections:
            continue
        rect = max(rects, key=lambda r: r.area())
        shape = predictor(pixels, rect)
        parts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
        det = min(
            detections,
            key=lambda d: float(
                np.hypot(
                    (d.box.x0 + d.box.x1) / 2 - centre[0], (d.box.y0 + d.box.y1) / 2 - centre[1]
                )
            ),
        )
        if det.points is None:
            raise SystemExit("the default detector gives no five points")
        transform = similarity_transform(parts, dlib_chip)
        in_chip.append(det.points @ transform[:, :2].T + transform[:, 2])
    points = np.median(np.array(in_chip), axis=0)
    axis = float(
        np.mean(
            [(points[0, 0] + points[1, 0]) / 2, (points[3, 0] + points[4, 0]) / 2, points[2, 0]]
        )
    )
    mirrored = points[MIRROR].copy()
    mirrored[:, 0] = 2 * axis - mirrored[:, 0]
    template = np.round((points + mirrored) / 2, 2)
    axis = round(axis, 2)  # printed values stay exactly symmetric about it
    template[2, 0] = axis
    template[[1, 4], 0] = 2 * axis - template[[0, 3], 0]
    spread = np.median(np.abs(np.array(in_chip) - points), axis=0)
    print(f"faces: {len(in_chip)} of {len(files)} images; symmetry axis x = {axis:.2f}")
    print("median absolute deviation per point (chip px):", np.round(spread, 2).tolist())
    print("CHIP_TEMPLATE = np.array(\n    [")
    for x, y in template:
        print(f"        ({x:.2f}, {y:.2f}),")
    print("    ]\n)")


if __name__ == "__main__":
    main()
