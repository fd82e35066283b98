"""Index known people into a collection, then identify held-back photos of them: plain boto3.

Each identity of ``deepface-pairs`` (``identities.csv``) with at least two photos keeps its
last photo back; the others are indexed with IndexFaces, with the identity as ExternalImageId
and each identity as a Rekognition *user* (CreateUser + AssociateFaces).  Every held-back photo
is then searched with SearchUsersByImage; it is identified correctly when the best user match
is its identity.  Prints the accuracy; exits 1 if it is below ``--min-accuracy``.

    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \\
        python examples/identify_people.py --endpoint-url http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import boto3

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "deepface-pairs"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:8080")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--collection", default="identify-people-example")
    parser.add_argument("--min-accuracy", type=float, default=0.0)
    args = parser.parse_args()

    rekognition = boto3.client(
        "rekognition", endpoint_url=args.endpoint_url, region_name=args.region
    )
    people: dict[str, list[str]] = defaultdict(list)
    with open(args.data / "identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if not row.get(
                "note"
            ):  # multi-face and reflection images are not portraits of one person
                people[row["identity"]].append(row["file"])

    def image(name: str) -> dict[str, bytes]:
        return {"Bytes": (args.data / "images" / name).read_bytes()}

    try:
        rekognition.delete_collection(CollectionId=args.collection)
    except rekognition.exceptions.ResourceNotFoundException:
        pass
    rekognition.create_collection(CollectionId=args.collection)
    held_back: list[tuple[str, str]] = []
    for person, files in sorted(people.items()):
        if len(files) < 2:
            continue
        *enrol, probe = sorted(files)
        held_back.append((person, probe))
        rekognition.create_user(CollectionId=args.collection, UserId=person)
        face_ids = []
        for name in enrol:
            try:
                result = rekognition.index_faces(
                    CollectionId=args.collection,
                    Image=image(name),
                    ExternalImageId=person,
                    MaxFaces=1,
                )
            except rekognition.exceptions.InvalidImageFormatException:
                print(f"  skipped {name}: not a JPEG or PNG")
                continue
            face_ids += [r["Face"]["FaceId"] for r in result["FaceRecords"]]
        if face_ids:
            rekognition.associate_faces(
                CollectionId=args.collection, UserId=person, FaceIds=face_ids
            )

    correct = 0
    for person, probe in held_back:
        result = rekognition.search_users_by_image(CollectionId=args.collection, Image=image(probe))
        matches = result["UserMatches"]
        best = matches[0]["User"]["UserId"] if matches else None
        similarity = f"{matches[0]['Similarity']:.1f}" if matches else "-"
        correct += best == person
        print(f"{probe:12s} {person}: identified as {best} (Similarity {similarity})")
    accuracy = correct / len(held_back)
    print(
        f"identified {correct}/{len(held_back)} held-back photos correctly: accuracy {accuracy:.3f}"
    )
    return 0 if accuracy >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
