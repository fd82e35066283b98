"""Image analysis beyond faces, side by side with the bare model in one run: DetectText, and
RecognizeCelebrities beside the bare detect + describe + search it is made of.

1. **Latency.**  For each image, DetectText through the API (a real boto3 client, SigV4, the
   server's app, the governance gate and audit, the JSON codec: ``tests/server/in_process.py``,
   the app of ``agnosco serve`` without the socket) and the bare library call on the same
   pixels (``rapidocr.RapidOCR.__call__`` with ``return_word_box=True`` on the decoded upright
   image as the reader gives it to the models, enlarged to 960 px on its long side when
   smaller, on an engine of its own with the same configuration and onnxruntime sessions),
   interleaved call by call: the median of each, their ratio, and the
   API's milliseconds per megapixel (the target is under 1 s per 1 MP image on 2 cores).  The
   API's figure includes what the bare call does not do: decoding the JPEG/PNG, base64, the
   word geometry of ``vision/text.py``, the filters, the audit record.
2. **Accuracy.**  OCR word accuracy on the hand-labelled images of
   ``tests/vision/data/text-labels.json`` (in ``../shared/data``): of the words a person reads,
   how many DetectText returns exactly (recall), and how many of the words it returns are
   such words (precision); beside it the same for rapidocr's own word output
   (``word_results``, every word, since its per-word scores are not the words').

    python bench/analysis.py [--calls 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agnosco.vision import text
from agnosco.vision.image import decode_image
from tests.conftest import SHARED_DATA
from tests.server.conftest import ACCESS_KEY_ID, ADMIN_ENVIRONMENT, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer
from tests.text_images import draw_text, jpeg
from tests.vision.test_text import LABELS, word_accuracy

#: Images timed besides the labelled ones: a 1 MP photo without text, and a 1 MP drawn page.
EXTRA = ["no-faces/images/meadow_view_a.jpg"]


def drawn_page() -> bytes:
    rows = [
        "Agnosco reads the text of images through the same API",
        "as Amazon Rekognition: lines and words, with their boxes",
        "and polygons, filtered by confidence, size and region.",
        "Each call is authorized by policy and written to the",
        "audit log, which keeps how much text was read, never",
        "what it says. Invoice 2024-117, total 1,250.00 EUR.",
    ]
    return jpeg(draw_text(rows, size=(1200, 840), font_size=34, spacing=2.6).image)


def timed(call: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all of this process's threads: the in-process server's too)."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(
    api: Callable[[], Any], bare: Callable[[], Any], calls: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    api(), bare()  # warm up: models loaded, arenas sized
    a, b = [], []
    for _ in range(calls):
        a.append(timed(api))
        b.append(timed(bare))
    return a, b


def median_ms(times: list[tuple[float, float]], i: int) -> float:
    return 1000 * statistics.median(t[i] for t in times)


#: RecognizeCelebrities: who is enrolled (deepface-pairs identities, as the tests enrol them),
#: and the images timed (one face, two, a group selfie, a team of about 30).
CELEBRITIES = {
    "person01": ["img2.jpg", "img4.jpg"],
    "person02": ["img3.jpg", "img56.jpg"],
    "person10": ["img26.jpg"],
}
CELEBRITY_IMAGES = [
    "deepface-pairs/images/img6.jpg",
    "deepface-pairs/images/couple.jpg",
    "deepface-pairs/images/selfie-many-people.jpg",
    "crowds/volleyball-team.jpg",
]


def celebrity_latency(server: InProcessServer, client: Any, calls: int) -> None:
    """RecognizeCelebrities through the API vs the bare detect + describe + search on the same
    decoded pixels: the face pipeline's ``describe`` of the 64 largest faces with attributes,
    then the nearest enrolled descriptor of each face (numpy, the gallery already in memory)."""
    from agnosco.operations.celebrities import MAX_CELEBRITY_FACES, enrolment_descriptor

    context = server.deployment.context
    store = server.deployment.celebrities
    assert store is not None
    images_dir = SHARED_DATA / "deepface-pairs" / "images"
    for name, files in CELEBRITIES.items():
        descriptors = [
            enrolment_descriptor(decode_image((images_dir / f).read_bytes()), context, f)
            for f in files
        ]
        store.add(name, descriptors, context.face_model.version)
    gallery = store.descriptors(context.face_model.version, context.face_model.descriptor.size)
    print()
    print(
        f"RecognizeCelebrities per image ({len(CELEBRITIES)} people, {len(gallery.owners)} "
        "images enrolled): through the API vs the bare detect + describe + search on the same "
        f"decoded pixels, medians of {calls}"
    )
    print(
        f"{'image':44} {'size':>10} {'faces':>5} {'known':>5} {'API ms':>7} {'bare ms':>7} "
        f"{'ratio':>5} {'API CPU':>7} {'bare CPU':>8} {'ratio':>5} {'API CPU ms/MP':>13}"
    )
    for name in CELEBRITY_IMAGES:
        data = (SHARED_DATA / name).read_bytes()
        decoded = decode_image(data)
        answer: dict[str, Any] = {}

        def api(data: bytes = data, answer: dict[str, Any] = answer) -> None:
            answer.update(client.recognize_celebrities(Image={"Bytes": data}))

        def bare(decoded: Any = decoded) -> None:
            faces = context.analyzer.describe(
                decoded, attributes=True, max_faces=MAX_CELEBRITY_FACES
            )
            for face in faces:
                distances = np.linalg.norm(gallery.vectors - face.descriptor, axis=1)
                context.calibration.similarity(float(distances.min()))

        a, b = interleaved(api, bare, calls)
        mp = decoded.width * decoded.height / 1e6
        api_ms, bare_ms = median_ms(a, 0), median_ms(b, 0)
        api_cpu, bare_cpu = median_ms(a, 1), median_ms(b, 1)
        faces = len(answer["CelebrityFaces"]) + len(answer["UnrecognizedFaces"])
        size = f"{decoded.width}x{decoded.height}"
        print(
            f"{name:44} {size:>10} {faces:5} {len(answer['CelebrityFaces']):5} {api_ms:7.0f} "
            f"{bare_ms:7.0f} {api_ms / bare_ms:5.2f} {api_cpu:7.0f} {bare_cpu:8.0f} "
            f"{api_cpu / bare_cpu:5.2f} {api_cpu / mp:13.0f}"
        )


def celebrity_accuracy() -> None:
    """RecognizeCelebrities' recognition on labelled people: every deepface-pairs identity with
    at least three single-face JPEG images enrolled from its first two, each other image of it
    a probe (recognized as them, as someone else, or not at all), and every adult UTKFace chip
    (none of them enrolled) a probe that must be named no one; the same code the operation runs
    (``match_faces``)."""
    import csv

    from agnosco.errors import ServiceError
    from agnosco.operations.celebrities import CELEBRITY_MATCH_THRESHOLD, match_faces
    from agnosco.operations.context import OperationContext
    from agnosco.storage.celebrities import CelebrityStore

    root = SHARED_DATA / "deepface-pairs"
    people: dict[str, list[str]] = {}
    with (root / "identities.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            people.setdefault(row["identity"], []).append(row["file"])
    with tempfile.TemporaryDirectory() as tmp:
        store = CelebrityStore(Path(tmp) / "celebrities.db")
        context = OperationContext(celebrities=store)

        def faces_of(path: Path) -> list[Any]:
            try:
                return context.analyzer.describe(decode_image(path.read_bytes()), max_faces=2)
            except ServiceError:  # img47: WebP data under a .jpg name, not an input
                return []

        probes: list[tuple[str, Any]] = []
        enrolled = 0
        for person, files in sorted(people.items()):
            described = [(f, faces_of(root / "images" / f)) for f in files]
            single = [faces[0] for _, faces in described if len(faces) == 1]
            if len(single) < 3:
                continue
            store.add(person, [f.descriptor for f in single[:2]], context.face_model.version)
            enrolled += 1
            probes += [(person, face) for face in single[2:]]
        ids = {c.celebrity_id: c.name for c in store.all()}
        strangers: list[tuple[str, Any]] = []
        with (SHARED_DATA / "demographics-utkface" / "labels.csv").open(newline="") as fh:
            for row in csv.DictReader(fh):
                if int(row["age"]) >= 18:
                    faces = faces_of(SHARED_DATA / "demographics-utkface" / row["file"])
                    strangers += [(row["race"], faces[0])] if faces else []
        print()
        print(
            f"RecognizeCelebrities: {enrolled} deepface-pairs people enrolled from 2 images each; "
            f"{len(probes)} other images of them, {len(strangers)} UTKFace adults never enrolled"
        )
        print(
            f"{'Similarity':>10} {'recognized':>10} {'as another':>10} {'unrecognized':>12}"
            f" {'strangers named':>15}  by group"
        )
        # the shipped threshold, and two lower ones for comparison (the operation uses the first)
        for threshold in (CELEBRITY_MATCH_THRESHOLD, 95.0, 90.0):
            counts = {"recognized": 0, "someone else": 0, "unrecognized": 0}
            matches = match_faces([face for _, face in probes], context, threshold)
            for (person, _), match in zip(probes, matches, strict=True):
                key = (
                    "unrecognized"
                    if match is None
                    else "recognized"
                    if ids[match.celebrity_id] == person
                    else "someone else"
                )
                counts[key] += 1
            named = match_faces([face for _, face in strangers], context, threshold)
            groups: dict[str, list[int]] = {}
            for (group, _), match in zip(strangers, named, strict=True):
                groups.setdefault(group, []).append(int(match is not None))
            by_group = ", ".join(f"{g} {sum(v)}/{len(v)}" for g, v in sorted(groups.items()))
            total = len(probes)
            print(
                f"{threshold:10g} {counts['recognized'] / total:10.1%}"
                f" {counts['someone else'] / total:10.1%} {counts['unrecognized'] / total:12.1%}"
                f" {sum(m is not None for m in named):7} of {len(strangers)}  {by_group}"
            )
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5, help="timed calls per image and side")
    args = parser.parse_args()
    if not SHARED_DATA.is_dir():
        sys.exit(f"{SHARED_DATA} is absent: the labelled images are in ../shared/data")
    labels = json.loads(LABELS.read_text())["images"]
    images: dict[str, bytes] = {
        name: (SHARED_DATA / name).read_bytes() for name in [lb["file"] for lb in labels] + EXTRA
    }
    images["drawn page (JPEG)"] = drawn_page()
    bare_engine = text._load()  # a RapidOCR of its own, configured and run as vision/text.py's
    with tempfile.TemporaryDirectory() as tmp:
        server = InProcessServer(Path(tmp) / "data", ADMIN_ENVIRONMENT)
        try:
            client = server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
            load = os.getloadavg()[0]
            print(f"{os.cpu_count()} CPUs, load average {load:.1f} (other processes share them)")
            print("DetectText per image: through the API (boto3 -> app -> gate -> operation)")
            print("vs the bare rapidocr call on the same decoded pixels, medians of", args.calls)
            print("wall-clock ms, and CPU ms (what the call costs the machine, less sensitive to")
            print("the load than wall-clock; with 2 intra-op threads wall >= CPU / 2 when idle)")
            print(
                f"{'image':40} {'size':>10} {'MP':>5} {'API ms':>7} {'bare ms':>7} "
                f"{'ratio':>5} {'API CPU':>7} {'bare CPU':>8} {'ratio':>5} {'API CPU ms/MP':>13}"
            )
            answers: dict[str, dict[str, Any]] = {}
            rapid_words: dict[str, list[str]] = {}
            for name, data in images.items():
                decoded = decode_image(data, max_bytes=15 * 2**20)
                # the pixels the reader gives the models (enlarged to 960 px when smaller)
                bgr, _ = text.scaled_for_detector(np.ascontiguousarray(decoded.pixels[:, :, ::-1]))

                def api(data: bytes = data, name: str = name) -> None:
                    answers[name] = client.detect_text(Image={"Bytes": data})

                def bare(bgr: np.ndarray = bgr, name: str = name) -> None:
                    out = bare_engine(bgr, return_word_box=True)
                    rapid_words[name] = [w[0] for line in (out.word_results or ()) for w in line]

                a, b = interleaved(api, bare, args.calls)
                mp = decoded.width * decoded.height / 1e6
                api_ms, bare_ms = median_ms(a, 0), median_ms(b, 0)
                api_cpu, bare_cpu = median_ms(a, 1), median_ms(b, 1)
                size = f"{decoded.width}x{decoded.height}"
                print(
                    f"{name:40} {size:>10} {mp:5.2f} {api_ms:7.0f} {bare_ms:7.0f} "
                    f"{api_ms / bare_ms:5.2f} {api_cpu:7.0f} {bare_cpu:8.0f} "
                    f"{api_cpu / bare_cpu:5.2f} {api_cpu / mp:13.0f}"
                )
            celebrity_latency(server, client, args.calls)
            print(f"load average at the end {os.getloadavg()[0]:.1f}")
        finally:
            server.close()

    print()
    print("OCR word accuracy on the hand-labelled images (tests/vision/data/text-labels.json)")
    print(
        f"{'image':40} {'labelled':>8} {'ours: read':>10} {'recall':>7} {'precision':>9}"
        f" {'rapidocr words: read':>20} {'recall':>7} {'precision':>9}"
    )
    totals = np.zeros(6, dtype=int)
    for label in labels:
        expected = [w for line in label["lines"] for w in line.split()]
        ours = [
            d["DetectedText"]
            for d in answers[label["file"]]["TextDetections"]
            if d["Type"] == "WORD"
        ]
        n, read, found = word_accuracy(expected, ours)
        _, r_read, r_found = word_accuracy(expected, rapid_words[label["file"]])
        totals += (n, read, found, n, r_read, r_found)
        print(
            f"{label['file']:40} {n:8} {read:10} {found / n:7.1%} {found / max(read, 1):9.1%}"
            f" {r_read:20} {r_found / n:7.1%} {r_found / max(r_read, 1):9.1%}"
        )
    n, read, found, _, r_read, r_found = totals
    print(
        f"{'all':40} {n:8} {read:10} {found / n:7.1%} {found / max(read, 1):9.1%}"
        f" {r_read:20} {r_found / n:7.1%} {r_found / max(r_read, 1):9.1%}"
    )
    celebrity_accuracy()


if __name__ == "__main__":
    main()
