"""The built panel (ui/dist), served at / with a strict Content-Security-Policy."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

from worker.shim.problems import Problem

# The panel's own page: scripts, styles and data from this origin only. 'unsafe-eval' because
# the form's validator (Ajv) compiles each trigger's JSON Schema into a function.
PANEL_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)


class _Panel(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
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
