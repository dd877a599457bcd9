"""Count the invoke requests the shim refuses itself (400, 401, 404, 413, 415, 429 before a
worker saw them), so that `manual_trigger_invocations_total` holds every refusal, not only the
worker's.

A pure ASGI middleware outside everything else, so that it sees the body-size guard's 413 as
well as FastAPI's answers. Handlers leave what they know in the request's state: the error
codes of a refusal (`refusal_codes`), whether the body asked for a dry run (`dry_run`), and
that the answer came from a worker (`answered_by_worker`, counted there already).
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.regex import linear
from worker import metrics

INVOKE_PATH = linear(r"^/api/v1/workflows/[^/]+/triggers/[^/]+/manual-invoke/?$")


class CountShimRefusals:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and INVOKE_PATH.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def counting_send(message: Message) -> None:
            # Counted before the answer leaves, so a client that reads /metrics next sees it.
            if message["type"] == "http.response.start":
                status = message["status"]
                if 400 <= status < 500 and not state.get("answered_by_worker"):
                    metrics.count_refusal_by_shim(
                        status, list(state.get("refusal_codes", [])), bool(state.get("dry_run"))
                    )
            await send(message)

        await self.app(scope, receive, counting_send)
