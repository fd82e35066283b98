"""CompareFaces on real images: matches, unmatched faces, thresholds and errors."""

from __future__ import annotations

import json

import pytest
from botocore.validate import ParamValidator

from agnosco.errors import InvalidImageFormatException, InvalidParameterException
from agnosco.operations import OPERATIONS, compare_faces, invoke
from agnosco.spec import shape, validate


@pytest.fixture(scope="module")
def compare(face_context, read_image):
    def run(source: str | bytes, target: str | bytes, **params):
        request = {
            "SourceImage": {"Bytes": read_image(source) if isinstance(source, str) else source},
            "TargetImage": {"Bytes": read_image(target) if isinstance(target, str) else target},
            **params,
        }
        response = compare_faces(request, face_context)
        validate(response, "CompareFacesResponse")
        report = ParamValidator().validate(response, shape("CompareFacesResponse"))
        assert not report.has_errors(), report.generate_report()
        json.dumps(response)
        similarities = [m["Similarity"] for m in response["FaceMatches"]]
        assert similarities == sorted(similarities, reverse=True)
        assert all(0.0 <= s <= 100.0 for s in similarities)
        return response

    return run


@pytest.fixture(scope="module")
def same_person(compare, identities):
    assert identities["img1.jpg"] == identities["img2.jpg"]
    return compare("img1.jpg", "img2.jpg")


@pytest.fixture(scope="module")
def different_people(compare, identities):
    assert identities["img1.jpg"] != identities["img3.jpg"]
    return compare("img1.jpg", "img3.jpg")


def test_registered_as_operation():
    assert OPERATIONS["CompareFaces"] is compare_faces


def test_same_person_matches(same_person):
    assert set(same_person) >= {"SourceImageFace", "FaceMatches", "UnmatchedFaces"}
    assert len(same_person["FaceMatches"]) == 1
    assert same_person["UnmatchedFaces"] == []
    match = same_person["FaceMatches"][0]
    assert match["Similarity"] >= 80.0
    face = match["Face"]
    assert set(face) >= {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
    types = [lm["Type"] for lm in face["Landmarks"]]
    assert sorted(types) == sorted(["eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose"])


def test_source_image_face(same_person):
    source = same_person["SourceImageFace"]
    assert set(source) == {"BoundingBox", "Confidence"}
    assert 50.0 <= source["Confidence"] <= 100.0
    box = source["BoundingBox"]
    assert 0.0 <= box["Left"] < box["Left"] + box["Width"] <= 1.0
    assert 0.0 <= box["Top"] < box["Top"] + box["Height"] <= 1.0


def test_different_people_do_not_match(different_people):
    assert different_people["FaceMatches"] == []
    assert len(different_people["UnmatchedFaces"]) == 1
    unmatched = different_people["UnmatchedFaces"][0]
    assert "Similarity" not in unmatched
    assert set(unmatched) >= {"BoundingBox", "Confidence"}


def test_threshold_zero_matches_every_target_face(compare, different_people):
    response = compare("img1.jpg", "img3.jpg", SimilarityThreshold=0.0)
    assert len(response["FaceMatches"]) == 1 and response["UnmatchedFaces"] == []
    assert response["FaceMatches"][0]["Similarity"] < 80.0  # matched only because of the 0 bar
    crowd = compare("img1.jpg", "selfie-many-people.jpg", SimilarityThreshold=0)
    assert len(crowd["FaceMatches"]) >= 5 and crowd["UnmatchedFaces"] == []


def test_threshold_100_matches_nothing_unless_identical(compare, same_person):
    assert same_person["FaceMatches"][0]["Similarity"] < 100.0
    response = compare("img1.jpg", "img2.jpg", SimilarityThreshold=100.0)
    assert response["FaceMatches"] == []
    assert len(response["UnmatchedFaces"]) == 1


def test_threshold_splits_at_the_similarity(compare, same_person):
    similarity = same_person["FaceMatches"][0]["Similarity"]
    at = compare("img1.jpg", "img2.jpg", SimilarityThreshold=similarity)
    above = compare("img1.jpg", "img2.jpg", SimilarityThreshold=min(100.0, similarity + 0.5))
    assert len(at["FaceMatches"]) == 1  # Similarity >= threshold is a match
    assert above["FaceMatches"] == []


def test_same_image_is_near_100(compare):
    response = compare("img2.jpg", "img2.jpg")
    assert len(response["FaceMatches"]) == 1
    assert response["FaceMatches"][0]["Similarity"] > 99.0


def test_multi_face_target_with_the_source_person(compare, identities):
    # couple.jpg contains person01 (img1.jpg) and one other person.
    assert identities["img1.jpg"] == "person01"
    response = compare("img1.jpg", "couple.jpg")
    assert len(response["FaceMatches"]) == 1
    assert len(response["UnmatchedFaces"]) == 1
    assert response["FaceMatches"][0]["Similarity"] >= 80.0
    matched = response["FaceMatches"][0]["Face"]["BoundingBox"]
    other = response["UnmatchedFaces"][0]["BoundingBox"]
    overlap = min(matched["Left"] + matched["Width"], other["Left"] + other["Width"]) - max(
        matched["Left"], other["Left"]
    )
    assert overlap <= 0, "the match and the unmatched face are two different faces"


def test_crowd_target_sorted_by_similarity(compare):
    response = compare("img1.jpg", "selfie-many-people.jpg", SimilarityThreshold=30)
    assert len(response["FaceMatches"]) >= 2  # sorting is only tested with several matches
    total = len(response["FaceMatches"]) + len(response["UnmatchedFaces"])
    assert total >= 5


def test_target_without_faces(compare, no_faces_dir):
    response = compare("img1.jpg", (no_faces_dir / "images" / "bricks.jpg").read_bytes())
    assert response["FaceMatches"] == [] and response["UnmatchedFaces"] == []


def test_source_without_a_face_is_invalid_parameter(face_context, no_faces_dir, read_image):
    request = {
        "SourceImage": {"Bytes": (no_faces_dir / "images" / "wood.jpg").read_bytes()},
        "TargetImage": {"Bytes": read_image("img2.jpg")},
    }
    with pytest.raises(InvalidParameterException) as exc_info:
        compare_faces(request, face_context)
    assert "source" in exc_info.value.message.lower()


@pytest.mark.parametrize("threshold", [-1.0, 100.5, "80"])
def test_invalid_similarity_threshold(face_context, read_image, threshold):
    request = {
        "SourceImage": {"Bytes": read_image("img1.jpg")},
        "TargetImage": {"Bytes": read_image("img2.jpg")},
        "SimilarityThreshold": threshold,
    }
    with pytest.raises(InvalidParameterException) as exc_info:
        invoke("CompareFaces", request, face_context)
    assert "similarityThreshold" in exc_info.value.message


def test_invoke_runs_compare_faces(face_context, read_image, same_person):
    request = {
        "SourceImage": {"Bytes": read_image("img1.jpg")},
        "TargetImage": {"Bytes": read_image("img2.jpg")},
    }
    assert invoke("CompareFaces", request, face_context) == same_person


def test_bad_target_bytes(face_context, read_image):
    data = read_image("img2.jpg")
    request = {
        "SourceImage": {"Bytes": read_image("img1.jpg")},
        "TargetImage": {"Bytes": data[: len(data) // 2]},
    }
    with pytest.raises(InvalidImageFormatException):
        compare_faces(request, face_context)


def test_missing_target_is_invalid_parameter(face_context, read_image):
    with pytest.raises(InvalidParameterException):
        invoke("CompareFaces", {"SourceImage": {"Bytes": read_image("img1.jpg")}}, face_context)


@pytest.mark.parametrize("level", ["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"])
def test_quality_filter_keeps_a_good_match(compare, level):
    response = compare("img1.jpg", "img2.jpg", QualityFilter=level)
    assert len(response["FaceMatches"]) == 1


def test_quality_filter_high_drops_poor_crowd_faces(compare):
    none = compare("img1.jpg", "selfie-many-people.jpg", QualityFilter="NONE")
    high = compare("img1.jpg", "selfie-many-people.jpg", QualityFilter="HIGH")
    count = lambda r: len(r["FaceMatches"]) + len(r["UnmatchedFaces"])
    assert count(high) < count(none)
