"""The sandboxes' error shape, {"error": {"code", "message"}}, for every failure including unexpected ones."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 401: "unauthorized"}


def sandbox_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            if error["type"] == "json_invalid":
                problems.append("the request body is not valid JSON")
                continue
            field = ".".join(str(part) for part in error["loc"][1:]) or str(error["loc"][0])
            problems.append(f"{field}: {error['msg']}")
        return sandbox_error(422, "invalid_request", "; ".join(problems))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return sandbox_error(exc.status_code, HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return sandbox_error(500, "internal_error", "the sandbox failed unexpectedly; see its log")
