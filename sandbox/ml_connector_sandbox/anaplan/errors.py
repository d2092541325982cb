"""Refusals in the three shapes Anaplan uses: the Integration API's ``status`` object, the
auth service's ``FAILURE_*`` status and OAuth's ``error``."""

from __future__ import annotations

from http import HTTPStatus


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Refusal(Exception):
    """An error response; ``body(path, timestamp)`` renders it."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers or {}

    def body(self, path: str, timestamp: str) -> dict:
        raise NotImplementedError


class ApiError(Refusal):
    """``{"status":{"code":404,"message":"Not Found"},"path":...,"timestamp":...}``."""

    def __init__(self, status: int, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, headers)
        self.message = message or reason(status)

    def body(self, path: str, timestamp: str) -> dict:
        return {"status": {"code": self.status, "message": self.message},
                "path": path, "timestamp": timestamp}


class AuthError(Refusal):
    """``{"status":"FAILURE_BAD_CREDENTIAL","statusMessage":...}`` (HTTP 401)."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(status)
        self.code = code
        self.message = message

    def body(self, path: str, timestamp: str) -> dict:
        return {"status": self.code, "statusMessage": self.message}


class OAuthError(Refusal):
    """``{"error":"invalid_grant","error_description":...}`` (HTTP 400 by default)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(status)
        self.error = error
        self.description = description

    def body(self, path: str, timestamp: str) -> dict:
        return {"error": self.error, "error_description": self.description}


def bad_credential(message: str = "Invalid credentials") -> AuthError:
    return AuthError("FAILURE_BAD_CREDENTIAL", message)


def bad_header(message: str = "Missing or malformed Authorization header") -> AuthError:
    return AuthError("FAILURE_BAD_HEADER", message)


def not_found() -> ApiError:
    return ApiError(404)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
