"""The built panel (ui/dist), served at / with a strict Content-Security-Policy: its hashed
assets precompressed (the build's .br and .gz, by Accept-Encoding) and cached for a year, the
page itself revalidated on every load, so a new build is picked up at once."""

import os
import stat
from mimetypes import guess_type
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from worker.shim.problems import Problem

# The panel's own page: scripts, styles and data from this origin only. 'unsafe-eval' because
# the form's validator (Ajv) compiles each trigger's JSON Schema into a function.
PANEL_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
# Vite names each asset by a hash of its content: a changed file is a new URL.
ASSET_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"
ASSETS = "assets" + os.sep
# The build's precompressed siblings, best first when the client likes both as much.
ENCODED = {"br": ".br", "gzip": ".gz"}
# Never served by name: source maps (none are built), and the siblings (only as an encoding).
HIDDEN = (".map", ".br", ".gz")


def _quality(params: list[str]) -> float:
    """A coding's q-value (RFC 9110 §12.4.2): 1 without one, 0 when it does not read."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def accepted_encodings(accept_encoding: str) -> list[str]:
    """The codings of ENCODED the client accepts, best first (q-values; `*` stands for those
    not named; `x-gzip` is gzip). None when it prefers `identity`, or names no coding."""
    qualities: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = item.split(";")
        coding = coding.strip().lower()
        if coding:
            qualities["gzip" if coding == "x-gzip" else coding] = _quality(params)
    identity = qualities.get("identity", 0.0)
    wildcard = qualities.get("*", 0.0)
    chosen = [(qualities.get(coding, wildcard), coding) for coding in ENCODED]
    chosen.sort(key=lambda pair: -pair[0])  # stable: ENCODED's order among equals
    return [coding for quality, coding in chosen if quality > 0.0 and quality >= identity]


class _Panel(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith(HIDDEN):
            raise HTTPException(status_code=404)
        if path.startswith(ASSETS) and scope["method"] in ("GET", "HEAD"):
            asked = Headers(scope=scope).get("accept-encoding", "")
            for coding in accepted_encodings(asked):
                found, stat_result = await anyio.to_thread.run_sync(
                    self.lookup_path, path + ENCODED[coding]
                )
                if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                    return self._respond(found, stat_result, scope, 200, coding)
        return await super().get_response(path, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        return self._respond(full_path, stat_result, scope, status_code, None)

    def _respond(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int,
        coding: str | None,
    ) -> Response:
        """The file with the panel's headers; `coding`: it is the asset's encoded sibling."""
        path = self.get_path(scope)
        headers = {"Cache-Control": ASSET_CACHE if path.startswith(ASSETS) else PAGE_CACHE}
        if path.startswith(ASSETS):
            headers["Vary"] = "Accept-Encoding"
        if coding is not None:
            headers["Content-Encoding"] = coding
        response: Response = FileResponse(
            full_path,
            status_code=status_code,
            headers=headers,
            # An encoded sibling is of its original's type (index-….js.br is JavaScript).
            media_type=guess_type(path)[0] if coding else None,
            stat_result=stat_result,
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            response = NotModifiedResponse(response.headers)
        response.headers["Content-Security-Policy"] = PANEL_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def serve_panel(app: FastAPI, directory: Path) -> None:
    """The built panel at / (after every API route, so it never shadows one)."""
    if (directory / "index.html").is_file():
        app.mount("/", _Panel(directory=directory, html=True), name="panel")
        return

    @app.get("/", include_in_schema=False)
    async def panel_not_built() -> Response:
        return Problem(
            404, "The panel is not built", f"no {directory}/index.html: run `make install`"
        ).response()
