"""STS on the server's port, through real boto3 ``sts`` and ``rekognition`` clients (in process):
temporary credentials, roles and their trust lists, expiry on a controllable clock, the session
token checked on every call, presigned requests, and the audit log of all of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.server.conftest import ACCESS_KEY_ID, ADMIN_ENVIRONMENT, REGION, SECRET_ACCESS_KEY
from tests.server.in_process import ENDPOINT, InProcessServer

ACCOUNT = "000000000000"


class Clock:
    """The server's clock, moved forward by tests; botocore signs by it too while it is moved
    (so only the sessions' expiry, not the 15-minute signature window, is what a test crosses)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def later(self, seconds: float) -> Any:
        self.offset = dt.timedelta(seconds=seconds)
        return mock.patch(
            "botocore.auth.get_current_datetime",
            side_effect=lambda: (dt.datetime.now(dt.UTC) + self.offset).replace(tzinfo=None),
        )


@dataclass
class Keys:
    finder: tuple[str, str]
    outsider: tuple[str, str]


@dataclass
class World:
    server: InProcessServer
    clock: Clock
    keys: Keys

    def client(self, key: tuple[str, str], token: str | None = None, **kw: Any) -> Any:
        return self.server.client(*key, session_token=token, **kw)

    def sts(self, key: tuple[str, str], token: str | None = None, **kw: Any) -> Any:
        return self.server.client(*key, service="sts", session_token=token, **kw)

    def assume(self, key: tuple[str, str], role: str = "Finders", **kw: Any) -> dict[str, Any]:
        answer = self.sts(key).assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="case-42", **kw
        )
        return dict(answer)

    def audit(self, request_id: str) -> list[dict[str, Any]]:
        return [
            r for r in self.server.deployment.audit.records() if r.get("request_id") == request_id
        ]


def temporary(answer: dict[str, Any]) -> tuple[tuple[str, str], str]:
    c = answer["Credentials"]
    return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    clock = Clock()
    server = InProcessServer(
        tmp_path_factory.mktemp("agnosco-sts") / "data", ADMIN_ENVIRONMENT, now=clock
    )
    d = server.deployment
    d.governance.create_principal("finder")  # no policy of its own: its key can do nothing
    d.governance.create_principal("outsider")
    finder = d.keys.create("finder")
    outsider = d.keys.create("outsider")
    d.roles.create("Finders", ["finder"], max_session_duration=7200)
    d.governance.attach("ReadOnly", "Finders")
    d.roles.create("Chained", ["Finders"])  # a role trusting a role
    d.governance.attach("ReadOnly", "Chained")
    yield World(
        server,
        clock,
        Keys(
            (finder.access_key_id, finder.secret_access_key),
            (outsider.access_key_id, outsider.secret_access_key),
        ),
    )
    server.close()


@pytest.fixture(autouse=True)
def clock_back(world: World) -> Iterator[None]:
    yield
    world.clock.offset = dt.timedelta()


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


def test_an_assumed_role_acts_with_the_roles_policies(world: World) -> None:
    with pytest.raises(ClientError) as refused:
        world.client(world.keys.finder).list_collections()  # finder itself may do nothing
    assert error_of(refused)[0] == "AccessDeniedException"

    answer = world.assume(world.keys.finder)
    key, token = temporary(answer)
    assert key[0].startswith("ASIA") and token
    role = world.server.deployment.roles.require("Finders")
    assert answer["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role.role_id}:case-42",
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Finders/case-42",
    }
    lasts = answer["Credentials"]["Expiration"] - world.clock()
    assert dt.timedelta(minutes=59) < lasts <= dt.timedelta(hours=1)  # the default hour

    rekognition = world.client(key, token)
    listed = rekognition.list_collections()
    assert "CollectionIds" in listed
    with pytest.raises(ClientError) as denied:
        rekognition.create_collection(CollectionId="by-the-role")  # ReadOnly does not allow it
    code, message, _ = error_of(denied)
    assert code == "AccessDeniedException"
    assert message.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Finders/case-42 is not authorized to "
        "perform: rekognition:CreateCollection"
    )

    identity = world.sts(key, token).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Finders/case-42"
    assert identity["UserId"] == f"{role.role_id}:case-42"
    assert identity["Account"] == ACCOUNT

    # the audit log names the role, who assumed it and the session, for each call
    (assumed,) = world.audit(answer["ResponseMetadata"]["RequestId"])
    assert assumed["operation"] == "sts:AssumeRole" and assumed["decision"] == "Allow"
    assert assumed["principal"] == "finder"
    assert assumed["resource"] == f"arn:aws:iam::{ACCOUNT}:role/Finders"
    assert assumed["result"]["AccessKeyId"] == key[0]
    assert key[1] not in json.dumps(assumed) and token not in json.dumps(assumed)
    (call,) = world.audit(listed["ResponseMetadata"]["RequestId"])
    assert call["principal"] == "Finders" and call["access_key_id"] == key[0]
    assert call["session"] == {
        "kind": "AssumedRole",
        "role": "Finders",
        "assumed_by": "finder",
        "session_name": "case-42",
        "source_access_key_id": world.keys.finder[0],
        "expires_at": answer["Credentials"]["Expiration"].timestamp(),
    }
    (denial,) = world.audit(denied.value.response["ResponseMetadata"]["RequestId"])
    assert denial["decision"] == "Deny" and denial["session"]["assumed_by"] == "finder"


def test_a_principal_not_trusted_is_refused_and_audited(world: World) -> None:
    with pytest.raises(ClientError) as refused:
        world.assume(world.keys.outsider)
    code, message, status = error_of(refused)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/outsider is not authorized to perform: "
        f"sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT}:role/Finders"
    )
    (record,) = world.audit(refused.value.response["ResponseMetadata"]["RequestId"])
    assert record["decision"] == "Deny" and record["principal"] == "outsider"
    assert record["operation"] == "sts:AssumeRole" and record["error"] == "AccessDeniedException"


@pytest.mark.parametrize(
    "arn", ["arn:aws:iam::000000000000:role/NoSuchRole", "arn:aws:iam::123456789012:role/Finders"]
)
def test_an_unknown_role_or_another_accounts_is_refused_alike(world: World, arn: str) -> None:
    with pytest.raises(ClientError) as refused:
        world.sts(world.keys.finder).assume_role(RoleArn=arn, RoleSessionName="s1")
    code, message, _ = error_of(refused)
    assert code == "AccessDenied" and message.endswith(f"on resource: {arn}")


def test_a_garbage_session_token_is_refused(world: World) -> None:
    key, _ = temporary(world.assume(world.keys.finder))
    with pytest.raises(ClientError) as refused:
        world.client(key, "garbage").list_collections()
    assert error_of(refused) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        400,
    )
    with pytest.raises(ClientError) as refused_sts:
        world.sts(key, "garbage").get_caller_identity()
    assert error_of(refused_sts) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
    )
    with pytest.raises(ClientError) as no_token:
        world.client(key).list_collections()  # a temporary key without its token
    assert error_of(no_token)[0] == "UnrecognizedClientException"


def test_a_session_token_with_a_long_term_key_is_refused(world: World) -> None:
    _, token = temporary(world.assume(world.keys.finder))
    admin = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    for given in ("garbage", token):  # even a real token of another key
        with pytest.raises(ClientError) as refused:
            world.client(admin, given).list_collections()
        assert error_of(refused)[:2] == (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
        with pytest.raises(ClientError) as refused_sts:
            world.sts(admin, given).get_caller_identity()
        assert error_of(refused_sts)[0] == "InvalidClientTokenId"
    assert world.client(admin).list_collections()["CollectionIds"] is not None


def test_an_expired_session_is_refused_and_audited(world: World) -> None:
    answer = world.sts(world.keys.finder).get_session_token(DurationSeconds=900)
    key, token = temporary(answer)
    identity = world.sts(key, token).get_caller_identity()  # a session token is its principal
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/finder"
    role_key, role_token = temporary(world.assume(world.keys.finder, DurationSeconds=900))
    with world.clock.later(899):
        world.client(role_key, role_token).list_collections()
    with world.clock.later(901):
        with pytest.raises(ClientError) as expired:
            world.client(role_key, role_token).list_collections()
        with pytest.raises(ClientError) as expired_sts:
            world.sts(key, token).get_caller_identity()
        with pytest.raises(ClientError) as expired_assume:
            world.sts(role_key, role_token).assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Chained", RoleSessionName="s2"
            )
    assert error_of(expired) == (
        "ExpiredTokenException",
        "The security token included in the request is expired",
        400,
    )
    assert error_of(expired_sts)[0] == "ExpiredToken"
    assert error_of(expired_assume)[0] == "ExpiredToken"
    (record,) = world.audit(expired.value.response["ResponseMetadata"]["RequestId"])
    assert record["decision"] == "Deny" and record["error"] == "ExpiredTokenException"
    assert record["principal"] == "Finders" and record["session"]["assumed_by"] == "finder"
    (record,) = world.audit(expired_sts.value.response["ResponseMetadata"]["RequestId"])
    assert record["principal"] == "finder" and record["error"] == "ExpiredTokenException"


def test_session_durations_follow_sts_limits(world: World) -> None:
    sts = world.sts(world.keys.finder)
    lasts = sts.get_session_token()["Credentials"]["Expiration"] - world.clock()
    assert dt.timedelta(hours=11, minutes=59) < lasts <= dt.timedelta(hours=12)
    two_hours = world.assume(world.keys.finder, DurationSeconds=7200)["Credentials"]
    assert two_hours["Expiration"] - world.clock() > dt.timedelta(hours=1, minutes=59)
    with pytest.raises(ClientError) as too_long:
        world.assume(world.keys.finder, DurationSeconds=7201)  # over the role's maximum
    assert error_of(too_long) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        400,
    )
    # session credentials of a principal assume a role as the principal would: no chaining limit
    session_key, session_token = temporary(sts.get_session_token(DurationSeconds=900))
    by_session = world.sts(session_key, session_token).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Finders", RoleSessionName="mfa", DurationSeconds=7200
    )
    assert by_session["Credentials"]["Expiration"] - world.clock() > dt.timedelta(hours=1)
    unchecked = world.sts(world.keys.finder, parameter_validation=False)
    with pytest.raises(ClientError) as too_short:
        unchecked.get_session_token(DurationSeconds=899)
    code, message, _ = error_of(too_short)
    assert code == "ValidationError"
    assert "Value '899' at 'durationSeconds' failed to satisfy constraint" in message
    with pytest.raises(ClientError) as too_long_token:
        unchecked.get_session_token(DurationSeconds=129601)
    assert error_of(too_long_token)[0] == "ValidationError"


def test_role_chaining_is_limited_to_an_hour(world: World) -> None:
    key, token = temporary(world.assume(world.keys.finder))
    chained = world.sts(key, token)
    with pytest.raises(ClientError) as too_long:
        chained.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Chained",
            RoleSessionName="inner",
            DurationSeconds=3601,
        )
    assert "1 hour session limit" in error_of(too_long)[1]
    answer = chained.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Chained", RoleSessionName="inner"
    )
    inner_key, inner_token = temporary(answer)
    listed = world.client(inner_key, inner_token).list_collections()
    (call,) = world.audit(listed["ResponseMetadata"]["RequestId"])
    assert call["principal"] == "Chained"
    assert call["session"]["assumed_by"] == "Finders"
    assert call["session"]["source_access_key_id"] == world.keys.finder[0]
    # GetSessionToken is for long-term keys, and finder is not trusted by Chained itself
    with pytest.raises(ClientError) as refused:
        chained.get_session_token()
    assert error_of(refused)[:2] == (
        "AccessDenied",
        "Cannot call GetSessionToken with session credentials",
    )
    with pytest.raises(ClientError) as untrusted:
        world.assume(world.keys.finder, role="Chained")
    assert error_of(untrusted)[0] == "AccessDenied"


def test_session_policies_and_tags_are_refused_not_ignored(world: World) -> None:
    with pytest.raises(ClientError) as refused:
        world.assume(
            world.keys.finder,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
    code, message, _ = error_of(refused)
    assert code == "ValidationError" and message.startswith("Policy is not supported")
    with pytest.raises(ClientError) as tags:
        world.assume(world.keys.finder, Tags=[{"Key": "k", "Value": "v"}])
    assert error_of(tags)[0] == "ValidationError"


def test_revoking_the_key_or_deleting_the_role_ends_sessions(world: World) -> None:
    d = world.server.deployment
    d.governance.create_principal("temp-user")
    new = d.keys.create("temp-user")
    d.roles.create("Passing", ["temp-user"])
    d.governance.attach("ReadOnly", "Passing")
    key, token = temporary(world.assume((new.access_key_id, new.secret_access_key), "Passing"))
    world.client(key, token).list_collections()
    d.roles.delete("Passing")
    d.roles._ids.clear()  # its one-second cache, as a second later
    with pytest.raises(ClientError) as gone:
        world.client(key, token).list_collections()
    assert error_of(gone)[0] == "UnrecognizedClientException"

    session_key, session_token = temporary(
        world.sts((new.access_key_id, new.secret_access_key)).get_session_token()
    )
    world.sts(session_key, session_token).get_caller_identity()
    d.keys.revoke(new.access_key_id)
    with pytest.raises(ClientError) as revoked:
        world.sts(session_key, session_token).get_caller_identity()
    assert error_of(revoked)[0] == "InvalidClientTokenId"


def test_an_unsigned_sts_request_is_refused_in_xml(world: World) -> None:
    response = world.server.send(
        AWSRequest(
            method="POST",
            url=ENDPOINT + "/",
            data=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        ).prepare()
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/xml"
    assert b"<Code>MissingAuthenticationToken</Code>" in response.content


# --- presigned requests ----------------------------------------------------------------------


def send_url(world: World, url: str, method: str = "GET", **kw: Any) -> Any:
    return world.server.send(AWSRequest(method=method, url=url, **kw).prepare())


def test_a_presigned_get_caller_identity(world: World) -> None:
    """What EKS-style authenticators do: botocore presigns GetCallerIdentity as a GET URL."""
    url = world.sts(world.keys.finder).generate_presigned_url(
        "get_caller_identity", ExpiresIn=60, HttpMethod="GET"
    )
    assert "X-Amz-Signature=" in url and "Authorization" not in url
    answer = send_url(world, url)
    assert answer.status_code == 200, answer.content
    assert f"<Arn>arn:aws:iam::{ACCOUNT}:user/finder</Arn>".encode() in answer.content

    key, token = temporary(world.assume(world.keys.finder))
    role_url = world.sts(key, token).generate_presigned_url("get_caller_identity", HttpMethod="GET")
    assert "X-Amz-Security-Token=" in role_url
    answer = send_url(world, role_url)
    assert b"assumed-role/Finders/case-42" in answer.content

    tampered = send_url(world, url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"))
    assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
    garbage = send_url(world, role_url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x"))
    assert garbage.status_code == 403 and b"<Code>InvalidClientTokenId</Code>" in garbage.content

    world.clock.offset = dt.timedelta(seconds=61)
    expired = send_url(world, url)
    assert expired.status_code == 403 and b"Signature expired" in expired.content


def test_a_presigned_rekognition_call(world: World) -> None:
    admin = world.client((ACCESS_KEY_ID, SECRET_ACCESS_KEY))
    # botocore's own presigning of a call without parameters: the signed headers go with it
    url = admin.generate_presigned_url("list_collections", ExpiresIn=120)
    headers = {
        "X-Amz-Target": "RekognitionService.ListCollections",
        "Content-Type": "application/x-amz-json-1.1",
    }
    answer = send_url(world, url, "POST", data=b"", headers=headers)
    assert answer.status_code == 200, answer.content
    assert "CollectionIds" in json.loads(answer.content)
    world.clock.offset = dt.timedelta(seconds=121)
    expired = send_url(world, url, "POST", data=b"", headers=headers)
    assert expired.status_code == 400
    assert json.loads(expired.content)["__type"] == "InvalidSignatureException"
    assert "Signature expired" in json.loads(expired.content)["message"]


def presign(body: bytes, target: str, key: tuple[str, str], token: str | None = None) -> AWSRequest:
    """A call with parameters presigned by botocore's SigV4QueryAuth, its body covered by a
    signed X-Amz-Content-SHA256 header (the query form would move a readable body into the
    query string)."""
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=b"",
        headers={
            "X-Amz-Target": f"RekognitionService.{target}",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
        },
    )
    SigV4QueryAuth(Credentials(*key, token), "rekognition", REGION, expires=300).add_auth(request)
    request.data = body
    return request


def test_a_presigned_call_with_parameters_and_temporary_credentials(world: World) -> None:
    admin = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    body = b'{"CollectionId":"presigned"}'
    created = world.server.send(presign(body, "CreateCollection", admin).prepare())
    assert created.status_code == 200, created.content
    assert json.loads(created.content)["CollectionArn"].endswith(":collection/presigned")

    tampered = presign(body, "DescribeCollection", admin)
    tampered.data = b'{"CollectionId":"other"}'
    refused = world.server.send(tampered.prepare())
    assert refused.status_code == 400
    assert json.loads(refused.content)["__type"] == "InvalidSignatureException"

    key, token = temporary(world.assume(world.keys.finder))
    described = world.server.send(presign(body, "DescribeCollection", key, token).prepare())
    assert described.status_code == 200, described.content
    denied = world.server.send(
        presign(b'{"CollectionId":"presigned"}', "DeleteCollection", key, token).prepare()
    )
    assert json.loads(denied.content)["__type"] == "AccessDeniedException"  # ReadOnly role
    record = [
        r
        for r in world.server.deployment.audit.records()
        if r.get("operation") == "DeleteCollection" and r.get("access_key_id") == key[0]
    ]
    assert [r["session"]["role"] for r in record] == ["Finders"]
    admin_client = world.client(admin)
    admin_client.delete_collection(CollectionId="presigned")


def test_the_data_dir_holds_no_temporary_secret(world: World) -> None:
    key, token = temporary(world.assume(world.keys.finder))
    for path in Path(world.server.data_dir).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert key[1].encode() not in content and token.encode() not in content, path


def test_a_roles_policy_can_name_who_assumed_it(world: World) -> None:
    """``agnosco:AssumedBy``: one role, shared, whose policy allows one of its assumers more."""
    d = world.server.deployment
    d.roles.create("Shared", ["finder", "outsider"])
    d.governance.put_policy(
        "ListIfFinder",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "rekognition:ListCollections",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"agnosco:AssumedBy": "finder"}},
                    }
                ],
            }
        ),
    )
    d.governance.attach("ListIfFinder", "Shared")
    key, token = temporary(world.assume(world.keys.finder, "Shared"))
    assert "CollectionIds" in world.client(key, token).list_collections()
    key, token = temporary(world.assume(world.keys.outsider, "Shared"))
    with pytest.raises(ClientError) as refused:
        world.client(key, token).list_collections()
    assert error_of(refused)[0] == "AccessDeniedException"
    # a role's key of its own would skip the trust list: it signs nothing
    own = d.keys.create("Shared")
    with pytest.raises(ClientError) as unrecognized:
        world.client((own.access_key_id, own.secret_access_key)).list_collections()
    assert error_of(unrecognized)[0] == "UnrecognizedClientException"


def signed_sts(
    world: World, body: bytes, key: tuple[str, str] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
) -> Any:
    """A form POST signed for ``sts`` exactly as botocore signs, the body untouched."""
    from botocore.auth import SigV4Auth

    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(*key), "sts", REGION).add_auth(request)
    return world.server.send(request.prepare())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"Version=2011-06-15", 400, "InvalidAction"),
        (b"Action=GetFederationToken&Version=2011-06-15&Name=x", 400, "InvalidAction"),
        (b"Action=AssumeRole&Version=2011-06-15", 400, "ValidationError"),
        (b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=soon", 400, "ValidationError"),
        (b"Action=GetCallerIdentity&Version=2011-06-15&\xff=1", 400, "MalformedInput"),
        (b"Action=GetCallerIdentity&Version=2011-06-15" + b"&a=1" * 1000, 400, "MalformedInput"),
        (
            b"Action=GetCallerIdentity&Version=2011-06-15&p=" + b"x" * 70000,
            413,
            "RequestEntityTooLarge",
        ),
    ],
)
def test_a_bad_sts_request_is_an_sts_error(
    world: World, body: bytes, status: int, code: str
) -> None:
    answer = signed_sts(world, body)
    assert answer.status_code == status, answer.content
    assert answer.headers["content-type"] == "text/xml"
    assert f"<Code>{code}</Code>".encode() in answer.content


def test_an_sts_request_signed_for_another_region_is_refused(world: World) -> None:
    global_endpoint = world.sts(
        world.keys.finder, region="us-east-1"
    )  # STS's global signing region
    assert global_endpoint.get_caller_identity()["Account"] == ACCOUNT
    with pytest.raises(ClientError) as refused:
        world.sts(world.keys.finder, region="ap-south-1").get_caller_identity()
    assert error_of(refused)[0] == "SignatureDoesNotMatch"
