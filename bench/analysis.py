"""Image analysis beyond faces, side by side with the bare model in one run: DetectText,
DetectLabels (general labels and image properties), DetectModerationLabels, and
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

3. **General labels** (``general_labels``): per image, ``ImageNetLabels().labels(image)``
   (preprocessing, the network, the softmax and the WordNet parents) beside the bare
   onnxruntime ``session.run`` on the same preprocessed input, interleaved call by call.

    python bench/analysis.py [--calls 5] [--labels-only]

4. **DetectLabels.**  For each image, DetectLabels with ``Features`` GENERAL_LABELS and
   IMAGE_PROPERTIES through the API beside the bare calls it makes on the same decoded image
   (each label source's ``labels``, ``image_properties.box_colors`` of the instances and
   ``image_properties.analyse``), and IMAGE_PROPERTIES
   alone beside the bare ``analyse``, interleaved as above.

    python bench/analysis.py [--calls 5]

5. **DetectModerationLabels.**  Latency through the API beside the bare model call on the same
   decoded pixels (the reference preprocessing and one run of an onnxruntime session of its
   own, configured as ``vision/moderation.py``'s), as for DetectText; and the false-positive
   rate over every benign image of ``../shared/data`` (all of them ordinary photos, portraits,
   face chips and objects: any label is a false positive), as count / total at the default
   MinConfidence (50), at 80, and at the label's reporting threshold (20: what MinConfidence 0
   returns), scored as the operation scores them.

    python bench/analysis.py [--calls 5] [--moderation-only]
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

from agnosco.errors import ServiceError
from agnosco.vision import moderation, text
from agnosco.vision.image import decode_image
from tests.conftest import SHARED_DATA
from tests.server.conftest import ACCESS_KEY_ID, ADMIN_ENVIRONMENT, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer
from tests.text_images import draw_text, jpeg
from tests.vision.test_text import LABELS, word_accuracy

#: Images timed besides the labelled ones: a 1 MP photo without text, and a 1 MP drawn page.
EXTRA = ["no-faces/images/meadow_view_a.jpg"]
#: Images DetectLabels is timed on: two group photos and a 1 MP photo without people.
LABEL_IMAGES = [
    "deepface-pairs/images/couple.jpg",
    "crowds/volleyball-team.jpg",
    "no-faces/images/meadow_view_a.jpg",
]


def labels_latency(server: InProcessServer, client: Any, calls: int) -> None:
    """DetectLabels through the API beside the bare calls it makes, on each of LABEL_IMAGES."""
    from agnosco.vision import image_properties

    sources = server.deployment.context.labelling()
    print()
    print("DetectLabels per image: through the API vs the bare calls on the same decoded image")
    print("(label sources, instance colours, image_properties.analyse()), medians of", calls)
    print(
        f"{'image':40} {'features':>18} {'MP':>5} {'API ms':>7} {'bare ms':>7} "
        f"{'ratio':>5} {'API CPU':>7} {'bare CPU':>8} {'ratio':>5} {'API CPU ms/MP':>13}"
    )
    for name in LABEL_IMAGES:
        data = (SHARED_DATA / name).read_bytes()
        decoded = decode_image(data)
        mp = decoded.width * decoded.height / 1e6
        for features in (["GENERAL_LABELS", "IMAGE_PROPERTIES"], ["IMAGE_PROPERTIES"]):

            def api(data: bytes = data, features: list[str] = features) -> None:
                client.detect_labels(Image={"Bytes": data}, Features=features)

            def bare(decoded: Any = decoded, features: list[str] = features) -> None:
                if "GENERAL_LABELS" in features:  # and the colours of each instance's box
                    boxes = [i.box for s in sources for x in s.labels(decoded) for i in x.instances]
                    image_properties.box_colors(decoded, boxes, 10)
                image_properties.analyse(decoded, 10)

            a, b = interleaved(api, bare, calls)
            api_ms, bare_ms = median_ms(a, 0), median_ms(b, 0)
            api_cpu, bare_cpu = median_ms(a, 1), median_ms(b, 1)
            label = "+".join("LABELS" if f == "GENERAL_LABELS" else "PROPERTIES" for f in features)
            print(
                f"{name:40} {label:>18} {mp:5.2f} {api_ms:7.0f} {bare_ms:7.0f} "
                f"{api_ms / bare_ms:5.2f} {api_cpu:7.0f} {bare_cpu:8.0f} "
                f"{api_cpu / bare_cpu:5.2f} {api_cpu / mp:13.0f}"
            )


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
    parser.add_argument("--labels-only", action="store_true", help="only the general labels")
    parser.add_argument(
        "--moderation-only", action="store_true", help="only DetectModerationLabels' figures"
    )
    args = parser.parse_args()
    if args.labels_only:
        general_labels(args.calls)
        return
    if not SHARED_DATA.is_dir():
        sys.exit(f"{SHARED_DATA} is absent: the labelled images are in ../shared/data")
    if args.moderation_only:
        moderation_figures(args.calls)
        return
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
            labels_latency(server, client, args.calls)
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
    print()
    general_labels(args.calls)
    print()
    moderation_figures(args.calls)
    print()
    celebrity_accuracy()


#: Shared images for the general labels: objects, a portrait, a group, a 1 MP landscape.
LABEL_IMAGES = [
    "no-faces/images/coffee.png",
    "no-faces/images/motorcycle_left.png",
    "deepface-pairs/images/img1.jpg",
    "crowds/volleyball-team.jpg",
    "no-faces/images/meadow_view_a.jpg",
]


def general_labels(calls: int) -> None:
    """DetectLabels' general labels: ImageNetLabels().labels beside the bare session.run."""
    from agnosco.vision import imagenet

    if not SHARED_DATA.is_dir():
        sys.exit(f"{SHARED_DATA} is absent: the images are in ../shared/data")
    source = imagenet.ImageNetLabels()
    session = imagenet._MODEL.get()  # the registry's session, as labels() runs it
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("General labels per image: ImageNetLabels().labels(image) (resize + crop, network,")
    print("softmax, WordNet parents) vs the bare onnxruntime session.run on the same")
    print(f"preprocessed 224x224 input; medians of {calls}, wall-clock and CPU ms")
    print(
        f"{'image':40} {'size':>10} {'labels ms':>9} {'bare ms':>7} {'ratio':>5} "
        f"{'labels CPU':>10} {'bare CPU':>8} {'ratio':>5} {'top class':>24}"
    )
    for name in LABEL_IMAGES:
        decoded = decode_image((SHARED_DATA / name).read_bytes(), max_bytes=15 * 2**20)
        x = imagenet.preprocess(decoded.pixels)
        found: list[Any] = []

        def labelled(decoded: Any = decoded, found: list[Any] = found) -> None:
            found[:] = source.labels(decoded)

        def bare(x: np.ndarray = x) -> None:
            session.run(["logits"], {"pixels": x})

        a, b = interleaved(labelled, bare, calls)
        classes = set(imagenet.taxonomy().names[:1000])
        top = max((lb for lb in found if lb.name in classes), key=lambda lb: lb.confidence)
        size = f"{decoded.width}x{decoded.height}"
        print(
            f"{name:40} {size:>10} {median_ms(a, 0):9.1f} {median_ms(b, 0):7.1f} "
            f"{median_ms(a, 0) / median_ms(b, 0):5.2f} {median_ms(a, 1):10.1f} "
            f"{median_ms(b, 1):8.1f} {median_ms(a, 1) / median_ms(b, 1):5.2f} "
            f"{top.name[:18]:>18} {top.confidence:5.1f}"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


#: Images DetectModerationLabels is timed on: a 250 px LFW portrait, the team photo, a 1 MP
#: photo, a 2.6 MP portrait (every image is scaled to 256 px for the model: the cost besides
#: the model is decoding).
MODERATION_TIMED = [
    "lfw-dev/lfw/Aaron_Peirsol/Aaron_Peirsol_0004.jpg",
    "crowds/volleyball-team.jpg",
    "no-faces/images/meadow_view_a.jpg",
    "deepface-pairs/images/img1.jpg",
]


def moderation_figures(calls: int) -> None:
    bare_session = moderation._load()  # a session of its own, opened as vision/moderation.py's
    name = bare_session.get_inputs()[0].name

    def bare_score(pixels: np.ndarray) -> float:
        batch = moderation.preprocess(pixels)[np.newaxis]
        return 100.0 * float(bare_session.run(None, {name: batch})[0][0, 1])

    with tempfile.TemporaryDirectory() as tmp:
        server = InProcessServer(Path(tmp) / "data", ADMIN_ENVIRONMENT)
        try:
            client = server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
            print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
            print("DetectModerationLabels per image: through the API (boto3 -> app -> gate ->")
            print("operation) vs the bare model call (preprocessing + onnxruntime run) on the same")
            print(f"decoded pixels, medians of {calls}, wall-clock and CPU ms")
            print(
                f"{'image':50} {'size':>10} {'MP':>5} {'API ms':>7} {'bare ms':>7} "
                f"{'ratio':>5} {'API CPU':>7} {'bare CPU':>8} {'ratio':>5}"
            )
            for image_name in MODERATION_TIMED:
                data = (SHARED_DATA / image_name).read_bytes()
                decoded = decode_image(data, max_bytes=15 * 2**20)

                def api(data: bytes = data) -> None:
                    client.detect_moderation_labels(Image={"Bytes": data})

                def bare(pixels: np.ndarray = decoded.pixels) -> None:
                    bare_score(pixels)

                a, b = interleaved(api, bare, calls)
                mp = decoded.width * decoded.height / 1e6
                api_ms, bare_ms = median_ms(a, 0), median_ms(b, 0)
                api_cpu, bare_cpu = median_ms(a, 1), median_ms(b, 1)
                size = f"{decoded.width}x{decoded.height}"
                print(
                    f"{image_name:50} {size:>10} {mp:5.2f} {api_ms:7.0f} {bare_ms:7.0f} "
                    f"{api_ms / bare_ms:5.2f} {api_cpu:7.0f} {bare_cpu:8.0f} "
                    f"{api_cpu / bare_cpu:5.2f}"
                )
            print(f"load average at the end {os.getloadavg()[0]:.1f}")
        finally:
            server.close()

    print()
    print("DetectModerationLabels false positives on every benign image of ../shared/data")
    classifier = moderation.ModerationClassifier()
    scores: dict[str, float] = {}
    refused: list[str] = []
    started = time.perf_counter()
    for path in sorted(SHARED_DATA.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        relative = str(path.relative_to(SHARED_DATA))
        try:
            decoded = decode_image(path.read_bytes(), max_bytes=15 * 2**20)
        except ServiceError as error:  # an image the API refuses (WebP under a .jpg name)
            refused.append(f"{relative} ({error.code})")
            continue
        scores[relative] = classifier.score(decoded.pixels)
    elapsed = time.perf_counter() - started
    print(
        f"{len(scores)} images scored in {elapsed:.0f} s ({1000 * elapsed / len(scores):.0f} ms "
        f"each, decoding included); refused by the API, not counted: {', '.join(refused) or '-'}"
    )
    folders = sorted({name.split("/")[0] for name in scores})
    thresholds = [
        ("default MinConfidence 50", 50.0),
        ("MinConfidence 80", 80.0),
        (f"reporting threshold {moderation.REPORTING_THRESHOLD:g}", moderation.REPORTING_THRESHOLD),
    ]
    print(f"{'labelled (Explicit) at':32} {'all':>16} " + " ".join(f"{f:>22}" for f in folders))
    for label, threshold in thresholds:
        cells = []
        for folder in [None, *folders]:
            inside = [s for n, s in scores.items() if folder is None or n.startswith(folder + "/")]
            flagged = sum(s >= threshold for s in inside)
            cells.append(f"{flagged}/{len(inside)} {flagged / len(inside):6.2%}")
        print(f"{label:32} {cells[0]:>16} " + " ".join(f"{c:>22}" for c in cells[1:]))
    print("highest scores:")
    for image_name, score in sorted(scores.items(), key=lambda x: -x[1])[:10]:
        print(f"  {score:6.2f}  {image_name}")


if __name__ == "__main__":
    main()
