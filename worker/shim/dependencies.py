"""What routes share, as FastAPI dependencies: the shim's context, the caller (a verified
bearer token) and the access checks on a workflow or trigger the caller asks for.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.models import IDENTIFIER_PATTERN
from contracts.regex import linear
from contracts.specs import Trigger
from worker import store
from worker.auth import ExpiredToken, InvalidToken, TokenVerifier
from worker.authz import can_read
from worker.invocations import InvocationStatusStore
from worker.resources import Resources
from worker.rpc import InvokeClient
from worker.settings import Settings
from worker.shim.problems import Problem, not_found
from worker.shim.readiness import Readiness
from worker.watch import ExecutionWatch

IDENTIFIER = linear(IDENTIFIER_PATTERN)


@dataclass(frozen=True)
class ShimContext:
    """What the routes of one app use: its connections, its settings, its RPC client and the
    process's one subscription to execution transitions."""

    resources: Resources
    client: InvokeClient
    verifier: TokenVerifier
    statuses: InvocationStatusStore
    watch: ExecutionWatch
    readiness: Readiness

    @classmethod
    def of(
        cls,
        resources: Resources,
        client: InvokeClient,
        watch: ExecutionWatch,
        readiness: Readiness,
    ) -> "ShimContext":
        return cls(
            resources=resources,
            client=client,
            verifier=resources.settings.token_verifier(),
            statuses=resources.statuses,
            watch=watch,
            readiness=readiness,
        )

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    def attach(self, app: FastAPI) -> None:
        app.state.shim = self


async def shim_context(request: Request) -> ShimContext:
    # async, though it awaits nothing: FastAPI runs a plain `def` dependency on a worker
    # thread, a hop that cost the shim a fifth of its CPU per request.
    return cast(ShimContext, request.app.state.shim)


Context = Annotated[ShimContext, Depends(shim_context)]

bearer = HTTPBearer(auto_error=False)


def unauthorized(detail: str, challenge: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


async def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    context: Context,
) -> str:
    """The verified caller. Refusals are challenged as RFC 6750 says: a request without a
    bearer token with the bare scheme, a token refused with `error="invalid_token"`, and an
    expired one (of ours) saying so, the one reason a refused token is told."""
    if credentials is None:
        raise unauthorized("invalid token", "Bearer")
    try:
        return context.verifier.verify(credentials.credentials)
    except ExpiredToken:
        challenge = 'Bearer error="invalid_token", error_description="The token expired"'
        raise unauthorized("token expired", challenge) from None
    except InvalidToken:
        raise unauthorized("invalid token", 'Bearer error="invalid_token"') from None


User = Annotated[str, Depends(current_user)]


async def readable(
    context: ShimContext, workflow_id: str, user: str, trigger_id: str | None = None
) -> store.Access:
    """The workflow as `user` may see it; 404 when it does not exist or is not theirs."""
    if not IDENTIFIER.match(workflow_id):
        raise not_found("Workflow")
    access = await store.load_access(context.resources.pool, workflow_id, user, trigger_id)
    if access is None or not can_read(access.role):
        raise not_found("Workflow")
    return access


async def readable_workflow(workflow_id: str, user: User, context: Context) -> store.Access:
    """The path's workflow, when the caller may read it."""
    return await readable(context, workflow_id, user)


async def readable_trigger(
    workflow_id: str, trigger_id: str, user: User, context: Context
) -> Trigger:
    """The path's trigger, when the caller may read its workflow."""
    access = await readable(context, workflow_id, user, trigger_id)
    if access.trigger is None:
        raise not_found("Trigger")
    return access.trigger


ReadableWorkflow = Annotated[store.Access, Depends(readable_workflow)]
ReadableTrigger = Annotated[Trigger, Depends(readable_trigger)]
