"""The STS operations that make and describe temporary credentials, as botocore's ``sts`` model
shapes them: GetSessionToken, AssumeRole, GetCallerIdentity.

The server hands each call to :meth:`agnosco.governance.gate.Gate.call_sts`, which validates it
against the model, runs it here and audits it, allowed or refused, like every other call.

- **GetCallerIdentity** needs no permission (as in AWS): the caller's ``UserId``, ``Account``
  and ``Arn`` (``arn:aws:iam::ACCOUNT:user/PRINCIPAL``; for a role's session
  ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` and ``ROLEID:SESSION``).
- **GetSessionToken** gives a long-term key's principal temporary credentials for itself:
  ``DurationSeconds`` 900 to 129600 (the model's limits), 43200 unless given.  Refused
  (``AccessDenied``) with temporary credentials, as AWS refuses it, and with an MFA code
  (Agnosco has no MFA devices).
- **AssumeRole** gives temporary credentials of a role (:mod:`.roles`) to a principal on its
  trust list; anyone else, an unknown role or another account's is refused with the same
  ``AccessDenied`` (which of these it was is in the audit log, not told to the caller).
  ``DurationSeconds`` 900 up to the role's maximum session duration, 3600 unless given; from a
  role's session (role chaining) at most 3600.  Session policies (``Policy``,
  ``PolicyArns``), session tags and MFA are refused rather than ignored: ignoring a session
  policy would grant more than the caller asked for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from agnosco.auth.sessions import ASSUMED_ROLE, SESSION_TOKEN, NewSession, SessionStore
from agnosco.errors import AccessDeniedException, ValidationError
from agnosco.governance.actions import Caller
from agnosco.governance.roles import RoleStore, parse_role_arn, user_id

#: Operations served, with their default session durations (seconds).
OPERATIONS = ("GetSessionToken", "AssumeRole", "GetCallerIdentity")
DEFAULT_SESSION_TOKEN_DURATION = 43200
DEFAULT_ROLE_DURATION = 3600
#: Role chaining (AssumeRole with temporary credentials) is limited to an hour.
CHAINED_MAX_DURATION = 3600
#: AssumeRole members Agnosco refuses rather than ignores.
UNSUPPORTED_MEMBERS = (
    "Policy",
    "PolicyArns",
    "Tags",
    "TransitiveTagKeys",
    "ProvidedContexts",
    "SerialNumber",
    "TokenCode",
)


def caller_arn(caller: Caller, account: str) -> str:
    session = caller.session
    if session is not None and session.role is not None:
        return f"arn:aws:sts::{account}:assumed-role/{session.role}/{session.session_name}"
    return f"arn:aws:iam::{account}:user/{caller.principal}"


def action_of(operation: str) -> str:
    return f"sts:{operation}"


class SecurityTokenService:
    """The three operations on the deployment's sessions and roles."""

    def __init__(
        self,
        sessions: SessionStore,
        roles: RoleStore,
        account_id: str,
    ) -> None:
        self.sessions, self.roles = sessions, roles
        self.account_id = account_id

    def resource(self, operation: str, request: dict[str, Any]) -> str:
        return str(request.get("RoleArn", "*")) if operation == "AssumeRole" else "*"

    def call(
        self, operation: str, request: dict[str, Any], caller: Caller, now: float
    ) -> dict[str, Any]:
        """Run one validated call at ``now`` (epoch seconds, the server's clock, which the
        sessions it issues expire by).  :raises ServiceError: AccessDenied or ValidationError."""
        if operation == "GetCallerIdentity":
            return self.get_caller_identity(caller)
        if operation == "GetSessionToken":
            return self.get_session_token(request, caller, now)
        if operation == "AssumeRole":
            return self.assume_role(request, caller, now)
        raise KeyError(operation)  # the server routes only OPERATIONS here

    def get_caller_identity(self, caller: Caller) -> dict[str, Any]:
        session = caller.session
        if session is not None and session.role is not None:
            identity = f"{session.role_id}:{session.session_name}"
        else:
            identity = user_id(caller.principal)
        return {
            "UserId": identity,
            "Account": self.account_id,
            "Arn": caller_arn(caller, self.account_id),
        }

    def get_session_token(
        self, request: dict[str, Any], caller: Caller, now: float
    ) -> dict[str, Any]:
        if caller.session is not None:
            raise AccessDeniedException("Cannot call GetSessionToken with session credentials")
        if "SerialNumber" in request or "TokenCode" in request:
            raise AccessDeniedException(
                "MultiFactorAuthentication failed: this deployment has no MFA devices."
            )
        assert caller.access_key_id is not None  # a signed call
        new = self.sessions.issue(
            kind=SESSION_TOKEN,
            principal=caller.principal,
            source_access_key_id=caller.access_key_id,
            issued_at=now,
            duration=int(request.get("DurationSeconds", DEFAULT_SESSION_TOKEN_DURATION)),
            default_purpose=caller.purpose,
        )
        return {"Credentials": _credentials(new)}

    def assume_role(self, request: dict[str, Any], caller: Caller, now: float) -> dict[str, Any]:
        for member in UNSUPPORTED_MEMBERS:
            if member in request:
                raise ValidationError(
                    f"{member} is not supported by this deployment's AssumeRole: session policies, "
                    "session tags and MFA are refused rather than ignored (the role's own policies "
                    "decide what its sessions may do)."
                )
        arn = str(request["RoleArn"])
        parsed = parse_role_arn(arn)
        if parsed is None:
            raise ValidationError(
                f"{arn[:200]} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
            )
        account, name = parsed
        role = self.roles.get(name) if account == self.account_id else None
        if role is None or caller.principal not in role.trust:
            raise AccessDeniedException(
                f"User: {caller_arn(caller, self.account_id)} is not authorized to perform: "
                f"sts:AssumeRole on resource: {arn}"
            )
        # Role chaining is a role's session assuming a role; session credentials of a principal
        # (GetSessionToken's) assume one as the principal itself would.
        chained = caller.session is not None and caller.session.role is not None
        duration = int(request.get("DurationSeconds", DEFAULT_ROLE_DURATION))
        if chained and duration > CHAINED_MAX_DURATION:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        if duration > role.max_session_duration:
            raise ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        session_name = str(request["RoleSessionName"])
        source = caller.session.source_access_key_id if caller.session else caller.access_key_id
        assert source is not None  # a signed call
        source_identity = request.get("SourceIdentity") or (
            caller.session.source_identity if caller.session else None
        )
        new = self.sessions.issue(
            kind=ASSUMED_ROLE,
            principal=role.name,
            source_access_key_id=source,
            issued_at=now,
            duration=duration,
            assumed_by=caller.principal,
            role=role.name,
            role_id=role.role_id,
            session_name=session_name,
            source_identity=source_identity,
            chained=chained,
        )
        response: dict[str, Any] = {
            "Credentials": _credentials(new),
            "AssumedRoleUser": {
                "AssumedRoleId": f"{role.role_id}:{session_name}",
                "Arn": f"arn:aws:sts::{self.account_id}:assumed-role/{role.name}/{session_name}",
            },
        }
        if source_identity:
            response["SourceIdentity"] = source_identity
        return response


def summary(operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of an STS answer: never a secret or a session token."""
    out: dict[str, Any] = {}
    credentials = response.get("Credentials")
    if credentials:
        out["AccessKeyId"] = credentials["AccessKeyId"]
        out["Expiration"] = credentials["Expiration"].timestamp()
    if "AssumedRoleUser" in response:
        out["AssumedRoleArn"] = response["AssumedRoleUser"]["Arn"]
    if operation == "GetCallerIdentity":
        out["Arn"] = response["Arn"]
    return out


def _credentials(new: NewSession) -> dict[str, Any]:
    return {
        "AccessKeyId": new.session.access_key_id,
        "SecretAccessKey": new.session.secret,
        "SessionToken": new.session_token,
        "Expiration": dt.datetime.fromtimestamp(new.session.expires_at, dt.UTC),
    }
