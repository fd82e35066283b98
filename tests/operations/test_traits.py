"""Each operation's Traits agree with botocore's model of it: nothing governance needs is
hand-kept where it can drift (which ARN, identification, threshold, state change)."""

from __future__ import annotations

import re

import pytest

from agnosco import spec
from agnosco.operations import OPERATIONS, REGISTRY, traits_of
from agnosco.operations.traits import Resource, Traits

IMPLEMENTED = sorted(REGISTRY)
#: Name prefixes of the model's operations that change state, and of those that only read.
CHANGING = (
    "Create",
    "Delete",
    "Index",
    "Associate",
    "Disassociate",
    "Tag",
    "Untag",
    "Put",
    "Update",
    "Start",
    "Stop",
)
READING = ("Describe", "List", "Get", "Detect", "Search", "Compare", "Recognize")


def _members(shape, seen=None) -> set[str]:  # type: ignore[no-untyped-def]
    """Every member name reachable from ``shape``."""
    seen = set() if seen is None else seen
    if shape is None or shape.name in seen:
        return set()
    seen.add(shape.name)
    names: set[str] = set()
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            names.add(name)
            names |= _members(member, seen)
    elif shape.type_name == "list":
        names |= _members(shape.member, seen)
    elif shape.type_name == "map":
        names |= _members(shape.value, seen)
    return names


def test_every_implemented_operation_has_traits():
    assert set(REGISTRY) == set(OPERATIONS)
    assert all(isinstance(op.traits, Traits) for op in REGISTRY.values())


@pytest.mark.parametrize("operation", IMPLEMENTED)
def test_an_operation_that_compares_faces_is_marked_so(operation):
    """A similarity in the output (RecognizeCelebrities' MatchConfidence is one: the face's
    Similarity to a named person), or a match threshold in the input, means the caller learns
    how alike faces are: identification (agnosco.operations.traits)."""
    model = spec.service_model().operation_model(operation)
    inputs = set(model.input_shape.members)
    thresholds = sorted(
        m for m in inputs if m.endswith("Threshold") and ("Match" in m or "Similarity" in m)
    )
    outputs = _members(model.output_shape)
    reveals = "Similarity" in outputs or "MatchConfidence" in outputs or bool(thresholds)
    # A CelebrityDetail's Confidence is the face's similarity to a named person (as
    # RecognizeCelebrities' MatchConfidence is), and a job's Start is identification when the
    # Get that answers its results is (StartCelebrityRecognition).
    reveals = reveals or "CelebrityDetail" in _shapes(model.output_shape)
    if operation.startswith("Start") and f"Get{operation[5:]}" in IMPLEMENTED:
        get = spec.service_model().operation_model(f"Get{operation[5:]}").output_shape
        reveals = reveals or "CelebrityDetail" in _shapes(get)
    traits = traits_of(operation)
    assert traits.compares_faces is reveals
    assert (traits.threshold.member if traits.threshold else None) == (
        thresholds[0] if thresholds else None
    )


@pytest.mark.parametrize("operation", [o for o in IMPLEMENTED if traits_of(o).threshold])
def test_threshold_defaults_are_the_documented_ones(operation):
    traits = traits_of(operation)
    member = (
        spec.service_model().operation_model(operation).input_shape.members[traits.threshold.member]
    )
    documented = re.findall(r"default (?:value )?is (\d+)", member.documentation)
    # The model documents AssociateFaces' 75; where it is silent, Rekognition's 80 applies.
    expected = float(documented[0]) if documented else 80.0
    assert traits.threshold.default == expected


@pytest.mark.parametrize("operation", IMPLEMENTED)
def test_state_changes_are_marked(operation):
    traits = traits_of(operation)
    if operation.startswith(CHANGING):
        assert traits.changes_state
    else:
        assert operation.startswith(READING), f"classify {operation}"
        assert not traits.changes_state


@pytest.mark.parametrize("operation", IMPLEMENTED)
def test_the_resource_follows_the_input_shape(operation):
    shape = spec.service_model().operation_model(operation).input_shape
    inputs = set(shape.members)
    if "ResourceArn" in inputs:
        expected = Resource.TAGGED
    elif "Name" in inputs and shape.members["Name"].name == "StreamProcessorName":
        expected = Resource.STREAM_PROCESSOR
    elif "CollectionId" not in inputs:
        expected = Resource.NONE
    elif "UserId" in inputs:
        expected = Resource.USER
    else:
        expected = Resource.COLLECTION
    assert traits_of(operation).resource is expected


def _shapes(shape, seen=None) -> set[str]:  # type: ignore[no-untyped-def]
    """Every shape name reachable from ``shape``."""
    seen = set() if seen is None else seen
    if shape is None or shape.name in seen:
        return seen
    seen.add(shape.name)
    if shape.type_name == "structure":
        for member in shape.members.values():
            _shapes(member, seen)
    elif shape.type_name == "list":
        _shapes(shape.member, seen)
    elif shape.type_name == "map":
        _shapes(shape.value, seen)
    return seen


@pytest.mark.parametrize("operation", IMPLEMENTED)
def test_calls_that_define_or_start_a_face_search_are_governed_by_its_settings(operation):
    """A stream processor searches a collection (identification) when its Settings.FaceSearch
    says so: the call that defines it (its input holds FaceSearchSettings) and the call that
    starts it are governed with that collection and threshold; a call that starts a processor
    defers its matches (review holds the stream's records, not the response)."""
    shape = spec.service_model().operation_model(operation).input_shape
    defines = "FaceSearchSettings" in _shapes(shape)
    starts = operation.startswith("Start") and "Name" in shape.members
    traits = traits_of(operation)
    assert traits.face_search_settings is (defines or starts)
    assert traits.defers_matches is (defines or starts)


def test_an_engine_threshold_is_only_for_identification_without_a_threshold_member():
    """RecognizeCelebrities' request has no threshold: the engine's own is what policies see
    (agnosco:MatchThreshold), at least the moratorium's 99."""
    for name, op in REGISTRY.items():
        if op.traits.engine_threshold is not None:
            assert op.traits.compares_faces and op.traits.threshold is None, name
    assert traits_of("RecognizeCelebrities").engine_threshold >= 99


def test_review_withholds_a_member_of_the_output():
    for name, op in REGISTRY.items():
        if op.traits.withheld:
            output = spec.service_model().operation_model(name).output_shape.members
            assert op.traits.withheld in output, name
    # an identification that changes state cannot be held back
    assert (
        traits_of("AssociateFaces").compares_faces and traits_of("AssociateFaces").withheld is None
    )


@pytest.mark.parametrize("operation", IMPLEMENTED)
def test_operations_that_take_an_image_are_on_the_model_queue(operation):
    inputs = spec.service_model().operation_model(operation).input_shape.members
    takes_image = any(member.name == "Image" for member in inputs.values())
    assert traits_of(operation).analyses_images is takes_image
