"""The governance gate end to end: boto3 against a real ``agnosco serve``, principals, policies
and keys made with the ``agnosco`` CLI (its entry point, called in this process), and the audit
log exported and verified with the installed ``agnosco`` command.

One private server for the module (its own data directory, so these principals never meet
other tests), once with the default SQLite state and once with ``--store postgresql://...``
(faces, keys, policies, reviews and the audit log in PostgreSQL; the CLI is given the same
``--store``), created principals:

========== ====================== =================================================
principal  organization type      policies
========== ====================== =================================================
nobody     -                      none: it can do nothing
reader     -                      ReadOnly
curator    -                      AllButProtected (rekognition:* but no Delete* on
                                  collection/protected*)
strict     -                      Search95 (SearchFacesByImage at threshold >= 95)
researcher research               ResearchOnly (Detect* with purpose research_*)
police     law_enforcement        Identifier + PoliceMoratorium2020
ngo        missing_persons        Identifier + PoliceMoratorium2020
lab        -                      TwoReviewers (Search* only with 2 reviewers)
enroller   -                      ConsentToEnrol (IndexFaces only with a consent ref)
========== ====================== =================================================

Every call is remembered (request id, caller, purpose, image digests, outcome) so that the
last tests can check the audit log holds a faithful record of each.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from agnosco.cli.main import main as cli_main
from agnosco.operations import traits_of
from tests.conftest import STATE_BACKENDS
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, start_server

ACCOUNT_ARN = "arn:aws:rekognition:eu-west-1:000000000000:collection/{}"
PEOPLE = "people"  # the collection every identification test searches
IMAGE_MEMBERS = ("Image", "SourceImage", "TargetImage")
SEARCHES = {
    "SearchFaces": "FaceMatches",
    "SearchFacesByImage": "FaceMatches",
    "SearchUsers": "UserMatches",
    "SearchUsersByImage": "UserMatches",
}

CUSTOM_POLICIES: dict[str, dict[str, Any]] = {
    "AllButProtected": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Everything", "Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},
            {
                "Sid": "KeepProtected",
                "Effect": "Deny",
                "Action": "rekognition:Delete*",
                "Resource": "arn:aws:rekognition:*:*:collection/protected*",
            },
        ],
    },
    "Search95": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SearchAt95",
                "Effect": "Allow",
                "Action": "rekognition:SearchFacesByImage",
                "Resource": "*",
                "Condition": {"NumericGreaterThanEquals": {"rekognition:FaceMatchThreshold": 95}},
            }
        ],
    },
    "ResearchOnly": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DetectForResearch",
                "Effect": "Allow",
                "Action": "rekognition:Detect*",
                "Resource": "*",
                "Condition": {"StringLike": {"agnosco:Purpose": "research_*"}},
            }
        ],
    },
    "TwoReviewers": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Sid": "FourEyes",
                "Effect": "Deny",
                "Action": "rekognition:Search*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"agnosco:RequiredReviewers": 2}},
            },
        ],
    },
    "ConsentToEnrol": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "List", "Effect": "Allow", "Action": "rekognition:ListFaces", "Resource": "*"},
            {
                "Sid": "EnrolWithConsent",
                "Effect": "Allow",
                "Action": "rekognition:IndexFaces",
                "Resource": "*",
                "Condition": {"Null": {"agnosco:ConsentReference": "false"}},
            },
        ],
    },
}

# name -> (organization type, policies, key default purpose)
PRINCIPALS: dict[str, tuple[str | None, tuple[str, ...], str | None]] = {
    "nobody": (None, (), None),
    "reader": (None, ("ReadOnly",), None),
    "curator": (None, ("AllButProtected",), None),
    "strict": (None, ("Search95",), None),
    "researcher": ("research", ("ResearchOnly",), None),
    "police": ("law_enforcement", ("Identifier", "PoliceMoratorium2020"), None),
    "police-enroller": ("law_enforcement", ("Indexer", "Identifier", "PoliceMoratorium2020"), None),
    "ngo": ("missing_persons", ("Identifier", "PoliceMoratorium2020"), None),
    "lab": (None, ("TwoReviewers",), None),
    "enroller": (None, ("ConsentToEnrol",), None),
}


# the CLI -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """Where a server keeps its state: a data directory, and the store URL (None: SQLite in it)."""

    data_dir: Path
    store_url: str | None = None

    def store_args(self) -> list[str]:
        return ["--store", self.store_url] if self.store_url else []

    def args(self) -> list[str]:
        """The CLI options that name this state."""
        return ["--data-dir", str(self.data_dir), *self.store_args()]


def agnosco(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an ``agnosco`` command through the CLI's entry point in this process: the same parser
    and code as the installed command, without a Python start-up per call (one call at a time:
    its output is this process's stdout)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    done = subprocess.CompletedProcess(["agnosco", *args], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(
            f"agnosco {' '.join(args)} exited {code}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def agnosco_process(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``agnosco`` command in its own process."""
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(
            f"agnosco {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def create_key(state: State, principal: str, purpose: str | None = None) -> tuple[str, str]:
    extra = ["--purpose", purpose] if purpose else []
    out = json.loads(
        agnosco("keys", "create", "--principal", principal, "--json", *extra, *state.args()).stdout
    )
    return out["AccessKeyId"], out["SecretAccessKey"]


def create_principal(
    state: State,
    name: str,
    organization_type: str | None,
    policies: tuple[str, ...],
    purpose: str | None = None,
) -> tuple[str, str]:
    extra = ["--organization-type", organization_type] if organization_type else []
    agnosco("principals", "create", name, *extra, *state.args())
    for policy in policies:
        agnosco("policies", "attach", policy, "--principal", name, *state.args())
    return create_key(state, name, purpose)


def export_audit(state: State) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in agnosco_process("audit", "export", *state.args()).stdout.splitlines()
    ]


# clients that declare a purpose ----------------------------------------------------------------


def signed_header(client: Any, header: str, value: str | None) -> dict[str, str | None]:
    """Add ``header`` (signed) to every request of ``client``; mutate the returned state to change it."""
    state = {"value": value}

    def add(request: Any, **kwargs: Any) -> None:
        del request.headers[header]
        if state["value"] is not None:
            request.headers[header] = state["value"]

    client.meta.events.register("before-sign.rekognition.*", add)
    return state


@dataclass
class Actor:
    name: str
    key_id: str
    secret: str
    client: Any
    key_purpose: str | None = None  # the key's default purpose
    purpose: dict[str, str | None] = field(default_factory=dict)
    consent: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Sent:
    """One call as the client saw it."""

    actor: Actor
    operation: str
    purpose: str | None
    consent: str | None
    request_id: str
    images: list[str]
    params: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return self.response["ResponseMetadata"]["HTTPHeaders"] if self.response else {}


@dataclass
class Env:
    server: Server
    state: State
    admin: Actor
    actors: dict[str, Actor]
    faces: dict[str, str]  # image file name -> FaceId in PEOPLE
    images: dict[str, bytes]
    sent: list[Sent] = field(default_factory=list)

    def call(
        self,
        actor: Actor,
        operation: str,
        *,
        purpose: str | None = None,
        consent: str | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Call ``operation`` as ``actor`` with this purpose (None: no header); remember it."""
        actor.purpose["value"] = purpose
        actor.consent["value"] = consent
        images = [
            hashlib.sha256(params[m]["Bytes"]).hexdigest()
            for m in IMAGE_MEMBERS
            if m in params and "Bytes" in params[m]
        ]
        expected_purpose = purpose or actor.key_purpose
        shown = {k: v for k, v in params.items() if k not in IMAGE_MEMBERS}
        try:
            response = getattr(actor.client, xform_name(operation))(**params)
        except ClientError as error:
            self.sent.append(
                Sent(
                    actor,
                    operation,
                    expected_purpose,
                    consent,
                    error.response["ResponseMetadata"]["RequestId"],
                    images,
                    shown,
                    error=error.response["Error"]["Code"],
                    message=error.response["Error"]["Message"],
                )
            )
            raise
        self.sent.append(
            Sent(
                actor,
                operation,
                expected_purpose,
                consent,
                response["ResponseMetadata"]["RequestId"],
                images,
                shown,
                response=response,
            )
        )
        return response

    def denied(self, actor: Actor, operation: str, resource: str = "*", **kwargs: Any) -> str:
        """Assert the call is refused by policy, in AWS's words and naming no policy; return
        why, as the audit log records it (the policies and statements that decided)."""
        with pytest.raises(ClientError) as excinfo:
            self.call(actor, operation, **kwargs)
        error = excinfo.value.response["Error"]
        assert error["Code"] == "AccessDeniedException", error
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        message = error["Message"]
        reason = self.audit_reason(excinfo.value.response["ResponseMetadata"]["RequestId"])
        head = f"User: {actor.name} is not authorized to perform: rekognition:{operation} on resource: {resource} "
        if reason.startswith("explicitly denied by "):
            assert message == head + "with an explicit deny in an identity-based policy"
        else:
            assert (
                message
                == head
                + f"because no identity-based policy allows the rekognition:{operation} action"
            )
        assert (
            "/" not in message.removeprefix(head) and "Policy" not in message
        )  # no policy or statement named
        return reason

    def audit_reason(self, request_id: str) -> str:
        """Why a call was refused, read from the last records of the log's table directly (the
        CLI's export, which the tests below check, is a process per call: too slow here)."""
        query = "SELECT body FROM audit_records ORDER BY seq DESC LIMIT 50"
        if self.state.store_url is None:
            with sqlite3.connect(self.state.data_dir / "audit.db") as db:
                rows = db.execute(query).fetchall()
        else:
            with psycopg.connect(self.state.store_url) as db:
                rows = db.execute(query).fetchall()
        bodies = [json.loads(body) for (body,) in rows]
        return next(r["reason"] for r in bodies if r.get("request_id") == request_id)


def make_actor(
    server: Server, name: str, key_id: str, secret: str, key_purpose: str | None = None
) -> Actor:
    client = server.client(key_id, secret)
    return Actor(
        name,
        key_id,
        secret,
        client,
        key_purpose,
        signed_header(client, "x-agnosco-purpose", None),
        signed_header(client, "x-agnosco-consent-ref", None),
    )


@pytest.fixture(scope="module", params=STATE_BACKENDS)
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, deepface_images: Path
) -> Iterator[Env]:
    with ExitStack() as stack:
        store_url = None
        if request.param == "postgres":
            store_url = stack.enter_context(
                request.getfixturevalue("embedded_postgres").database("gate")
            )
        yield stack.enter_context(_env(tmp_path_factory, deepface_images, store_url))


@contextmanager
def _env(
    tmp_path_factory: pytest.TempPathFactory, deepface_images: Path, store_url: str | None
) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("governance-e2e")
    state = State(root / "data", store_url)
    server = start_server(state.data_dir, root / "server.log", *state.store_args())
    try:
        for name, document in CUSTOM_POLICIES.items():
            (root / f"{name}.json").write_text(json.dumps(document))
        for name in CUSTOM_POLICIES:
            agnosco("policies", "put", name, str(root / f"{name}.json"), *state.args())
        keys = {name: create_principal(state, name, *item) for name, item in PRINCIPALS.items()}
        research_key = create_key(state, "researcher", "research_default")
        images = {
            n: (deepface_images / n).read_bytes() for n in ("img1.jpg", "img2.jpg", "img3.jpg")
        }
        admin = make_actor(server, "admin", ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        actors = {
            name: make_actor(server, name, *keys[name], key_purpose=PRINCIPALS[name][2])
            for name in keys
        }
        actors["researcher-default"] = make_actor(
            server, "researcher", *research_key, key_purpose="research_default"
        )
        env = Env(server, state, admin, actors, {}, images)
        env.call(admin, "CreateCollection", CollectionId=PEOPLE)
        for name in ("img1.jpg", "img2.jpg"):
            records = env.call(
                admin,
                "IndexFaces",
                CollectionId=PEOPLE,
                Image={"Bytes": images[name]},
                ExternalImageId=name,
            )["FaceRecords"]
            assert len(records) == 1
            env.faces[name] = records[0]["Face"]["FaceId"]
        env.call(admin, "CreateUser", CollectionId=PEOPLE, UserId="person01")
        env.call(
            admin,
            "AssociateFaces",
            CollectionId=PEOPLE,
            UserId="person01",
            FaceIds=[env.faces["img1.jpg"]],
        )
        yield env
    finally:
        server.stop()


def face_ids(response: dict[str, Any]) -> list[str]:
    return [m["Face"]["FaceId"] for m in response["FaceMatches"]]


# no policy: nothing ---------------------------------------------------------------------------------


def test_a_principal_without_policy_can_do_nothing(env: Env):
    nobody, image = env.actors["nobody"], {"Bytes": env.images["img1.jpg"]}
    people = ACCOUNT_ARN.format(PEOPLE)
    reason = env.denied(nobody, "ListCollections")
    assert reason == "no policy allows it (implicit deny)"
    env.denied(nobody, "DescribeCollection", people, CollectionId=PEOPLE)
    env.denied(nobody, "DetectFaces", Image=image)
    env.denied(nobody, "IndexFaces", people, CollectionId=PEOPLE, Image=image)
    env.denied(
        nobody,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=99,
    )
    env.denied(nobody, "CreateCollection", ACCOUNT_ARN.format("mine"), CollectionId="mine")
    # refused before the collection is even looked up: no existence oracle
    env.denied(nobody, "DescribeCollection", ACCOUNT_ARN.format("no-such"), CollectionId="no-such")
    # a declared purpose changes nothing
    env.denied(nobody, "ListCollections", purpose="missing_persons")
    # nothing was indexed or created
    assert len(env.call(env.admin, "ListFaces", CollectionId=PEOPLE)["Faces"]) == 2
    assert "mine" not in env.call(env.admin, "ListCollections")["CollectionIds"]


# ReadOnly ---------------------------------------------------------------------------------------------


def test_read_only_can_read_but_not_change(env: Env):
    reader = env.actors["reader"]
    assert PEOPLE in env.call(reader, "ListCollections")["CollectionIds"]
    described = env.call(reader, "DescribeCollection", CollectionId=PEOPLE)
    assert described["FaceCount"] == 2 and described["CollectionARN"] == ACCOUNT_ARN.format(PEOPLE)
    listed = env.call(reader, "ListFaces", CollectionId=PEOPLE)["Faces"]
    assert {f["FaceId"] for f in listed} == set(env.faces.values())
    env.denied(
        reader,
        "IndexFaces",
        ACCOUNT_ARN.format(PEOPLE),
        CollectionId=PEOPLE,
        Image={"Bytes": env.images["img3.jpg"]},
    )
    env.denied(reader, "DeleteCollection", ACCOUNT_ARN.format(PEOPLE), CollectionId=PEOPLE)
    env.denied(
        reader,
        "SearchFacesByImage",
        ACCOUNT_ARN.format(PEOPLE),
        CollectionId=PEOPLE,
        Image={"Bytes": env.images["img1.jpg"]},
    )
    assert env.call(reader, "DescribeCollection", CollectionId=PEOPLE)["FaceCount"] == 2


# Deny beats Allow -------------------------------------------------------------------------------------


def test_explicit_deny_beats_allow(env: Env):
    curator = env.actors["curator"]
    for name in ("protected-x", "scratch-x"):
        env.call(curator, "CreateCollection", CollectionId=name)  # rekognition:* allows this
    message = env.denied(
        curator, "DeleteCollection", ACCOUNT_ARN.format("protected-x"), CollectionId="protected-x"
    )
    assert "explicitly denied by AllButProtected/KeepProtected" in message
    env.call(curator, "DeleteCollection", CollectionId="scratch-x")
    ids = env.call(curator, "ListCollections")["CollectionIds"]
    assert "protected-x" in ids and "scratch-x" not in ids
    # Deny covers Delete* only: the protected collection is still usable
    env.call(curator, "DescribeCollection", CollectionId="protected-x")
    env.call(env.admin, "DeleteCollection", CollectionId="protected-x")  # Admin has no such Deny


# conditions ---------------------------------------------------------------------------------------------


def test_threshold_condition(env: Env):
    strict, image = env.actors["strict"], {"Bytes": env.images["img1.jpg"]}
    people = ACCOUNT_ARN.format(PEOPLE)
    env.denied(
        strict,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=90,
    )
    env.denied(
        strict,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=94.9,
    )
    response = env.call(
        strict, "SearchFacesByImage", CollectionId=PEOPLE, Image=image, FaceMatchThreshold=95
    )
    assert env.faces["img1.jpg"] in face_ids(response)
    assert "x-agnosco-review-id" not in response["ResponseMetadata"]["HTTPHeaders"]
    env.call(
        strict, "SearchFacesByImage", CollectionId=PEOPLE, Image=image, FaceMatchThreshold=99.5
    )
    # omitted, the threshold is Rekognition's default 80, which the condition refuses
    message = env.denied(strict, "SearchFacesByImage", people, CollectionId=PEOPLE, Image=image)
    assert "implicit deny" in message
    # the policy names one action: its wildcard-free Action does not cover the other searches
    env.denied(
        strict,
        "SearchFaces",
        people,
        CollectionId=PEOPLE,
        FaceId=env.faces["img1.jpg"],
        FaceMatchThreshold=99,
    )


def test_purpose_condition(env: Env):
    researcher, image = env.actors["researcher"], {"Bytes": env.images["img3.jpg"]}
    assert (
        len(
            env.call(researcher, "DetectFaces", Image=image, purpose="research_genomics")[
                "FaceDetails"
            ]
        )
        == 1
    )
    env.call(researcher, "DetectFaces", Image=image, purpose="research_")
    env.denied(researcher, "DetectFaces", Image=image, purpose="marketing")
    env.denied(
        researcher, "DetectFaces", Image=image, purpose="Research_genomics"
    )  # StringLike is case-sensitive
    env.denied(researcher, "DetectFaces", Image=image, purpose="xresearch_genomics")
    env.denied(researcher, "DetectFaces", Image=image)  # no purpose at all
    env.denied(
        researcher,
        "CompareFaces",
        SourceImage=image,
        TargetImage=image,
        purpose="research_genomics",
    )
    # a key's default purpose counts when the request declares none, and a declared one overrides it
    default = env.actors["researcher-default"]
    env.call(default, "DetectFaces", Image=image)
    env.denied(default, "DetectFaces", Image=image, purpose="marketing")


def test_unsigned_purpose_header_is_refused(env: Env):
    police = env.actors["police"]
    client = env.server.client(police.key_id, police.secret)

    def unsigned(request: Any, **kwargs: Any) -> None:
        request.headers["x-agnosco-purpose"] = "missing_persons"

    client.meta.events.register("before-send.rekognition.*", unsigned)
    with pytest.raises(ClientError) as excinfo:
        client.search_faces_by_image(
            CollectionId=PEOPLE, Image={"Bytes": env.images["img1.jpg"]}, FaceMatchThreshold=99
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "x-agnosco-purpose" in excinfo.value.response["Error"]["Message"]
    refused = excinfo.value.response["ResponseMetadata"]["RequestId"]
    with pytest.raises(ClientError) as excinfo:
        client.list_collections()
    assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"
    # the refusal of an authenticated key is audited, attributed to its principal
    record = {r.get("request_id"): r for r in export_audit(env.state)}[refused]
    assert (record["principal"], record["access_key_id"]) == ("police", police.key_id)
    assert (record["operation"], record["decision"], record["error"]) == (
        "SearchFacesByImage",
        "Deny",
        "InvalidSignatureException",
    )
    # the same header, signed, is accepted
    env.call(env.actors["ngo"], "ListCollections", purpose="missing_persons")


def test_unsigned_consent_header_is_refused(env: Env):
    enroller = env.actors["enroller"]
    client = env.server.client(enroller.key_id, enroller.secret)
    client.meta.events.register(
        "before-send.rekognition.*",
        lambda request, **kwargs: request.headers.__setitem__("x-agnosco-consent-ref", "consent-1"),
    )
    with pytest.raises(ClientError) as excinfo:
        client.list_faces(CollectionId=PEOPLE)
    assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_consent_condition(env: Env):
    enroller, image = env.actors["enroller"], {"Bytes": env.images["img3.jpg"]}
    env.denied(enroller, "IndexFaces", ACCOUNT_ARN.format(PEOPLE), CollectionId=PEOPLE, Image=image)
    records = env.call(
        enroller,
        "IndexFaces",
        CollectionId=PEOPLE,
        Image=image,
        consent="consent-2024-0042",
        ExternalImageId="img3.jpg",
    )["FaceRecords"]
    assert len(records) == 1
    env.faces["img3.jpg"] = records[0]["Face"]["FaceId"]
    # the audit log keeps the consent an enrolment rests on
    enrolled = [s for s in env.sent if s.operation == "IndexFaces" and s.actor.name == "enroller"]
    assert [s.error for s in enrolled] == ["AccessDeniedException", None]
    records = {r.get("request_id"): r for r in export_audit(env.state)}
    refused, indexed = (records[s.request_id] for s in enrolled)
    assert refused["consent_reference"] is None and refused["decision"] == "Deny"
    assert indexed["consent_reference"] == "consent-2024-0042" and indexed["decision"] == "Allow"
    assert indexed["result"]["IndexedFaceIds"] == [env.faces["img3.jpg"]]


# the moratorium ------------------------------------------------------------------------------------------


def test_the_searched_person_is_in_the_collection(env: Env):
    """The premise of the moratorium tests: img1.jpg matches its own indexed face at >= 99."""
    response = env.call(
        env.admin,
        "SearchFacesByImage",
        CollectionId=PEOPLE,
        Image={"Bytes": env.images["img1.jpg"]},
        FaceMatchThreshold=99,
    )
    matches = {m["Face"]["FaceId"]: m["Similarity"] for m in response["FaceMatches"]}
    assert matches.get(env.faces["img1.jpg"], 0) >= 99
    users = env.call(
        env.admin,
        "SearchUsersByImage",
        CollectionId=PEOPLE,
        Image={"Bytes": env.images["img1.jpg"]},
        UserMatchThreshold=99,
    )["UserMatches"]
    assert [u["User"]["UserId"] for u in users] == ["person01"] and users[0]["Similarity"] >= 99


def test_moratorium_refuses_police_identification(env: Env):
    police, image = env.actors["police"], {"Bytes": env.images["img1.jpg"]}
    people = ACCOUNT_ARN.format(PEOPLE)
    message = env.denied(
        police,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=99,
        purpose="criminal_investigation",
    )
    assert "PoliceMoratorium2020/NoPoliceIdentificationExceptForMissingPersons" in message
    env.denied(
        police,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=99,
    )
    # an allowed purpose, but below the moratorium's threshold (refuse mode: never silently raised)
    message = env.denied(
        police,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=80,
        purpose="missing_persons",
    )
    assert "PoliceIdentificationOnlyAtSimilarity99" in message
    env.denied(
        police,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        purpose="missing_persons",
    )
    env.denied(
        police,
        "SearchFacesByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=98.9,
        purpose="missing_persons",
    )
    env.denied(
        police,
        "SearchFaces",
        people,
        CollectionId=PEOPLE,
        FaceId=env.faces["img1.jpg"],
        FaceMatchThreshold=99,
        purpose="criminal_investigation",
    )
    # detection is not identification: Identifier allows it and the moratorium does not touch it
    env.call(police, "DetectFaces", Image=image, purpose="criminal_investigation")


def test_association_is_identification_under_the_moratorium(env: Env):
    """AssociateFaces compares the faces named with the user's faces and reports each refused
    one with its Confidence: a 1:N oracle if it were not governed as identification."""
    police, admin = env.actors["police-enroller"], env.admin
    collection = "police-enrolment"
    env.call(police, "CreateCollection", CollectionId=collection)
    faces = [
        env.call(police, "IndexFaces", CollectionId=collection, Image={"Bytes": env.images[n]})[
            "FaceRecords"
        ][0]["Face"]["FaceId"]
        for n in ("img1.jpg", "img2.jpg", "img3.jpg")
    ]
    env.call(police, "CreateUser", CollectionId=collection, UserId="probe")
    user = ACCOUNT_ARN.format(collection) + "/user/probe"
    for purpose in ("criminal_investigation", None):
        message = env.denied(
            police,
            "AssociateFaces",
            user,
            CollectionId=collection,
            UserId="probe",
            FaceIds=faces[:1],
            UserMatchThreshold=100,
            purpose=purpose,
        )
        assert "NoPoliceIdentificationExceptForMissingPersons" in message
    message = env.denied(
        police,
        "AssociateFaces",
        user,
        CollectionId=collection,
        UserId="probe",
        FaceIds=faces[:1],
        UserMatchThreshold=80,
        purpose="missing_persons",
    )
    assert "PoliceIdentificationOnlyAtSimilarity99" in message
    # an allowed purpose at 99: still refused, since an association cannot be held for review
    message = env.denied(
        police,
        "AssociateFaces",
        user,
        CollectionId=collection,
        UserId="probe",
        FaceIds=faces[:1],
        UserMatchThreshold=99,
        purpose="missing_persons",
    )
    assert "PoliceIdentificationOnlyWithHumanReview" in message
    # CompareFaces says how alike two faces are: identification too
    image = {"Bytes": env.images["img1.jpg"]}
    message = env.denied(
        police,
        "CompareFaces",
        "*",
        SourceImage=image,
        TargetImage=image,
        SimilarityThreshold=99,
        purpose="criminal_investigation",
    )
    assert "NoPoliceIdentificationExceptForMissingPersons" in message

    # Someone allowed to associate: the audit record keeps every Confidence the caller saw.
    env.call(admin, "AssociateFaces", CollectionId=collection, UserId="probe", FaceIds=faces[:1])
    response = env.call(
        admin,
        "AssociateFaces",
        CollectionId=collection,
        UserId="probe",
        FaceIds=faces[1:],
        UserMatchThreshold=100,
    )
    refused = response["UnsuccessfulFaceAssociations"]
    assert [f["FaceId"] for f in refused] == faces[1:]
    assert all("LOW_MATCH_CONFIDENCE" in f["Reasons"] and f["Confidence"] > 0 for f in refused)
    record = next(
        r
        for r in export_audit(env.state)
        if r.get("request_id") == response["ResponseMetadata"]["RequestId"]
        and r.get("phase") != "intent"
    )
    assert record["result"]["UnsuccessfulFaceAssociations"] == [
        {k: f[k] for k in ("FaceId", "UserId", "Reasons", "Confidence") if k in f} for f in refused
    ]
    assert record["parameters"]["UserMatchThreshold"] == 100


def _held(response: dict[str, Any], member: str) -> str:
    """Assert the response withholds its matches for review; return the review id."""
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert response[member] == []
    assert headers["x-agnosco-review-status"] == "PENDING"
    assert int(headers["x-agnosco-review-candidates"]) >= 1
    assert headers["x-agnosco-review-id"]
    return headers["x-agnosco-review-id"]


def _show(env: Env, review_id: str) -> dict[str, Any]:
    return json.loads(agnosco("review", "show", review_id, *env.state.args()).stdout)


def _decide(
    env: Env, review_id: str, reviewer: str, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return agnosco(
        "review",
        "decide",
        review_id,
        "--reviewer",
        reviewer,
        "--decision",
        "confirm",
        "--reason",
        f"{reviewer} compared the faces",
        *env.state.args(),
        check=check,
    )


def test_moratorium_allows_missing_persons_at_99_under_review(env: Env):
    police, image = env.actors["police"], {"Bytes": env.images["img1.jpg"]}
    response = env.call(
        police,
        "SearchFacesByImage",
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=99,
        purpose="missing_persons",
    )
    review_id = _held(response, "FaceMatches")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-agnosco-review-reviewers"] == "1"
    assert "x-agnosco-threshold-applied" not in response["ResponseMetadata"]["HTTPHeaders"]

    listed = agnosco("review", "list", *env.state.args()).stdout
    assert review_id in listed
    review = _show(env, review_id)
    assert review["status"] == "PENDING" and review["required_reviewers"] == 1
    assert review["principal"] == "police" and review["access_key_id"] == police.key_id
    assert review["purpose"] == "missing_persons" and review["threshold"] == 99
    assert review["operation"] == "SearchFacesByImage" and review["collection_id"] == PEOPLE
    candidates = {c["Face"]["FaceId"]: c["Similarity"] for c in review["candidates"]}
    assert candidates[env.faces["img1.jpg"]] >= 99
    assert len(candidates) == int(
        response["ResponseMetadata"]["HTTPHeaders"]["x-agnosco-review-candidates"]
    )

    assert _decide(env, review_id, "alice").stdout.strip() == f"review {review_id}: CONFIRMED"
    second = _decide(env, review_id, "bob", check=False)
    assert second.returncode == 1
    assert "already CONFIRMED" in second.stderr
    review = _show(env, review_id)
    assert review["status"] == "CONFIRMED"
    assert [(d["reviewer"], d["decision"]) for d in review["decisions"]] == [("alice", "confirm")]
    assert review_id not in agnosco("review", "list", *env.state.args()).stdout  # PENDING only


def test_moratorium_governs_user_search_the_same_way(env: Env):
    police, image = env.actors["police"], {"Bytes": env.images["img1.jpg"]}
    people = ACCOUNT_ARN.format(PEOPLE)
    env.denied(
        police,
        "SearchUsersByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        UserMatchThreshold=99,
        purpose="criminal_investigation",
    )
    env.denied(
        police,
        "SearchUsersByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        UserMatchThreshold=99,
    )
    env.denied(
        police,
        "SearchUsersByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        UserMatchThreshold=80,
        purpose="missing_persons",
    )
    env.denied(
        police,
        "SearchUsersByImage",
        people,
        CollectionId=PEOPLE,
        Image=image,
        purpose="missing_persons",
    )
    response = env.call(
        police,
        "SearchUsersByImage",
        CollectionId=PEOPLE,
        Image=image,
        UserMatchThreshold=99,
        purpose="child_exploitation_victims",
    )
    review_id = _held(response, "UserMatches")
    review = _show(env, review_id)
    assert review["operation"] == "SearchUsersByImage"
    assert [c["User"]["UserId"] for c in review["candidates"]] == ["person01"]
    assert review["candidates"][0]["Similarity"] >= 99


def test_the_moratorium_does_not_affect_other_organizations(env: Env):
    ngo, image = env.actors["ngo"], {"Bytes": env.images["img1.jpg"]}
    response = env.call(
        ngo, "SearchFacesByImage", CollectionId=PEOPLE, Image=image
    )  # default threshold 80
    assert env.faces["img1.jpg"] in face_ids(response)
    assert "x-agnosco-review-id" not in response["ResponseMetadata"]["HTTPHeaders"]
    users = env.call(
        ngo, "SearchUsersByImage", CollectionId=PEOPLE, Image=image, purpose="research_x"
    )
    assert [u["User"]["UserId"] for u in users["UserMatches"]] == ["person01"]
    # Identifier does not let it change collections
    env.denied(ngo, "IndexFaces", ACCOUNT_ARN.format(PEOPLE), CollectionId=PEOPLE, Image=image)


# two reviewers --------------------------------------------------------------------------------------------


def test_two_reviewers(env: Env):
    lab = env.actors["lab"]
    response = env.call(
        lab, "SearchFaces", CollectionId=PEOPLE, FaceId=env.faces["img1.jpg"], FaceMatchThreshold=0
    )
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-agnosco-review-reviewers"] == "2"
    review_id = _held(response, "FaceMatches")
    assert response["SearchedFaceId"] == env.faces["img1.jpg"]
    assert _show(env, review_id)["required_reviewers"] == 2

    assert _decide(env, review_id, "alice").stdout.strip() == f"review {review_id}: PENDING"
    again = _decide(env, review_id, "alice", check=False)
    assert again.returncode == 1
    assert "different reviewer" in again.stderr
    assert _show(env, review_id)["status"] == "PENDING"
    assert _decide(env, review_id, "bob").stdout.strip() == f"review {review_id}: CONFIRMED"
    review = _show(env, review_id)
    assert review["status"] == "CONFIRMED"
    assert [d["reviewer"] for d in review["decisions"]] == ["alice", "bob"]
    # everything else is allowed without review
    listed = env.call(lab, "ListFaces", CollectionId=PEOPLE)
    assert "x-agnosco-review-id" not in listed["ResponseMetadata"]["HTTPHeaders"]


# clamp mode ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_clamp_mode_raises_the_threshold_to_the_policy_minimum(
    tmp_path: Path, deepface_images: Path, store_url: str | None
):
    state = State(tmp_path / "data", store_url)
    server = start_server(
        state.data_dir, tmp_path / "server.log", "--threshold-mode", "clamp", *state.store_args()
    )
    try:
        key_id, secret = create_principal(
            state, "police", "law_enforcement", ("Identifier", "PoliceMoratorium2020")
        )
        admin = server.client()
        image = (deepface_images / "img1.jpg").read_bytes()
        admin.create_collection(CollectionId=PEOPLE)
        face_id = admin.index_faces(CollectionId=PEOPLE, Image={"Bytes": image})["FaceRecords"][0][
            "Face"
        ]["FaceId"]
        police = server.client(key_id, secret)
        purpose = signed_header(police, "x-agnosco-purpose", "missing_persons")
        response = police.search_faces_by_image(
            CollectionId=PEOPLE, Image={"Bytes": image}, FaceMatchThreshold=80
        )
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-agnosco-threshold-applied"] == "99"
        review_id = _held(response, "FaceMatches")
        # omitting the threshold (80) is clamped the same way
        omitted = police.search_faces_by_image(CollectionId=PEOPLE, Image={"Bytes": image})
        assert omitted["ResponseMetadata"]["HTTPHeaders"]["x-agnosco-threshold-applied"] == "99"
        # at or above the minimum nothing is changed
        at_99 = police.search_faces_by_image(
            CollectionId=PEOPLE, Image={"Bytes": image}, FaceMatchThreshold=99.5
        )
        assert "x-agnosco-threshold-applied" not in at_99["ResponseMetadata"]["HTTPHeaders"]
        # clamping never lifts the purpose restriction
        purpose["value"] = "criminal_investigation"
        with pytest.raises(ClientError) as excinfo:
            police.search_faces_by_image(
                CollectionId=PEOPLE, Image={"Bytes": image}, FaceMatchThreshold=80
            )
        assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    finally:
        server.stop()
    review = json.loads(agnosco("review", "show", review_id, *state.args()).stdout)
    assert review["threshold"] == 99
    assert [c["Face"]["FaceId"] for c in review["candidates"]] == [face_id]
    records = {r.get("request_id"): r for r in export_audit(state)}
    record = records[response["ResponseMetadata"]["RequestId"]]
    assert record["decision"] == "Allow" and record["principal"] == "police"
    assert record["parameters"]["FaceMatchThreshold"] == 99
    assert record["review"]["review_id"] == review_id
    assert (
        records[omitted["ResponseMetadata"]["RequestId"]]["parameters"]["FaceMatchThreshold"] == 99
    )
    assert (
        records[at_99["ResponseMetadata"]["RequestId"]]["parameters"]["FaceMatchThreshold"] == 99.5
    )
    assert records[excinfo.value.response["ResponseMetadata"]["RequestId"]]["decision"] == "Deny"
    assert "audit log OK" in agnosco("audit", "verify", *state.args()).stdout


# the audit log ------------------------------------------------------------------------------------------------


def _check_record(sent: Sent, record: dict[str, Any]) -> None:
    where = f"{sent.operation} by {sent.actor.name} ({sent.request_id})"
    assert record["principal"] == sent.actor.name, where
    assert record["access_key_id"] == sent.actor.key_id, where
    assert record["operation"] == sent.operation, where
    assert record["purpose"] == sent.purpose, where
    assert record["consent_reference"] == sent.consent, where
    assert [i["sha256"] for i in record["images"]] == sent.images, where
    assert record["reason"], where
    if sent.error == "AccessDeniedException":
        assert record["decision"] == "Deny", where
        assert record["error"] == "AccessDeniedException", where
        assert record["reason"].startswith(("explicitly denied by ", "no policy allows it")), where
        assert record["reason"] not in sent.message, where  # the caller is not told which policy
        assert "result" not in record, where
        return
    assert record["decision"] == "Allow", where
    assert record["reason"].startswith("allowed by "), where
    if sent.error:
        assert record["error"] == sent.error, where
        return
    assert "error" not in record, where
    member = SEARCHES.get(sent.operation)
    if member is None:
        return
    found = record["result"][member]
    review_id = sent.headers.get("x-agnosco-review-id")
    if review_id:  # held: the log keeps what was found, the caller got nothing
        assert record["review"]["review_id"] == review_id, where
        assert len(found) == int(sent.headers["x-agnosco-review-candidates"]), where
        assert all(f["Similarity"] is not None for f in found), where
    else:
        assert "review" not in record, where
        key = "Face" if member == "FaceMatches" else "User"
        returned = [(m[key][f"{key}Id"], m["Similarity"]) for m in sent.response[member]]
        assert [(f[f"{key}Id"], f["Similarity"]) for f in found] == returned, where
        assert returned, where


def test_every_call_is_audited(env: Env):
    # a call of each kind at least, whichever tests ran before
    image = {"Bytes": env.images["img2.jpg"]}
    env.call(env.admin, "DetectFaces", Image=image, purpose="audit_check")
    env.denied(env.actors["nobody"], "DetectFaces", Image=image)
    with pytest.raises(ClientError):
        env.call(env.admin, "DescribeCollection", CollectionId="no-such-collection")
    env.call(
        env.actors["ngo"],
        "SearchFacesByImage",
        CollectionId=PEOPLE,
        Image=image,
        FaceMatchThreshold=90,
    )

    records = export_audit(env.state)
    outcomes_of = [r for r in records if r.get("request_id") and r.get("phase") != "intent"]
    by_request = {r["request_id"]: r for r in outcomes_of}
    assert len(by_request) == len(outcomes_of), "one outcome record per request"
    intents = {r["request_id"]: r for r in records if r.get("phase") == "intent"}
    assert len(intents) == len([r for r in records if r.get("phase") == "intent"]), (
        "one intent per request"
    )
    for sent in env.sent:
        assert sent.request_id in by_request, (
            f"no audit record for {sent.operation} by {sent.actor.name}"
        )
        _check_record(sent, by_request[sent.request_id])
        outcome = by_request[sent.request_id]
        if traits_of(sent.operation).changes_state and outcome["decision"] == "Allow":
            # written before the change, with what was decided
            intent = intents.pop(sent.request_id)
            assert intent["seq"] < outcome["seq"]
            assert {
                k: v
                for k, v in intent.items()
                if k not in ("seq", "hash", "prev_hash", "phase", "time")
            } == {
                k: v
                for k, v in outcome.items()
                if k in intent and k not in ("seq", "hash", "prev_hash", "time")
            }
    assert not intents, f"intent records without a call: {list(intents)}"
    # one record per call: none for calls never made
    api_records = [
        r
        for r in outcomes_of
        if r["principal"] in {a.name for a in env.actors.values()} | {"admin"}
        and r["reason"] != "refused before authorization"
    ]
    assert len(api_records) == len(env.sent)
    # the other kinds of outcome all occurred
    outcomes = {(s.error or "ok") for s in env.sent}
    assert {"ok", "AccessDeniedException", "ResourceNotFoundException"} <= outcomes

    # the CLI's governance changes are in the same log
    cli = [r for r in records if r.get("source") == "cli"]
    operations = {r["operation"] for r in cli}
    assert {
        "agnosco:PutPolicy",
        "agnosco:CreatePrincipal",
        "agnosco:AttachPolicy",
        "agnosco:CreateAccessKey",
    } <= operations
    created = {r["parameters"]["name"] for r in cli if r["operation"] == "agnosco:CreatePrincipal"}
    assert set(PRINCIPALS) <= created
    decisions = [r["parameters"] for r in cli if r["operation"] == "agnosco:DecideReview"]
    for d in decisions:
        assert d["decision"] == "confirm" and d["reviewer"] in {"alice", "bob"} and d["reason"]

    verified = agnosco_process("audit", "verify", *env.state.args())
    assert verified.stdout.strip() == f"audit log OK: {len(records)} records"


def test_audit_records_what_each_search_revealed(env: Env):
    """The specific records: implicit and explicit denials, a threshold default, a held search."""
    records = {r["request_id"]: r for r in export_audit(env.state) if r.get("request_id")}

    def record_of(predicate: Any) -> dict[str, Any]:
        matching = [s for s in env.sent if predicate(s)]
        if not matching:
            pytest.skip("checks the calls of the tests above: run the whole module")
        return records[matching[-1].request_id]

    implicit = record_of(lambda s: s.actor.name == "nobody" and s.operation == "ListCollections")
    assert implicit["decision"] == "Deny" and "implicit deny" in implicit["reason"]
    explicit = record_of(
        lambda s: s.actor.name == "curator" and s.operation == "DeleteCollection" and s.error
    )
    assert explicit["reason"] == "explicitly denied by AllButProtected/KeepProtected"
    assert explicit["resource"] == ACCOUNT_ARN.format("protected-x")
    omitted = record_of(
        lambda s: (
            s.actor.name == "strict"
            and s.operation == "SearchFacesByImage"
            and "FaceMatchThreshold" not in s.params
        )
    )
    assert omitted["decision"] == "Deny"
    assert (
        omitted["parameters"]["FaceMatchThreshold"] == 80
    )  # the effective default is what was judged
    held = record_of(
        lambda s: s.actor.name == "police" and s.operation == "SearchFacesByImage" and not s.error
    )
    assert held["purpose"] == "missing_persons"
    assert held["parameters"]["FaceMatchThreshold"] == 99
    assert env.faces["img1.jpg"] in [m["FaceId"] for m in held["result"]["FaceMatches"]]
    assert held["images"][0]["sha256"] == hashlib.sha256(env.images["img1.jpg"]).hexdigest()
    assert held["images"][0]["bytes"] == len(env.images["img1.jpg"])
    indexed = record_of(lambda s: s.actor.name == "admin" and s.operation == "IndexFaces")
    assert indexed["result"]["IndexedFaceIds"] == [env.faces["img2.jpg"]]
