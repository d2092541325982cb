"""Zoho Books error responses: ``{"code": <int>, "message": "..."}`` with an HTTP status."""

from __future__ import annotations

PER_MINUTE_MESSAGE = (
    "For security reasons your organization has been blocked as it have exceeded the maximum "
    "number of requests per minute that can originate from an organization."
)
CONCURRENCY_MESSAGE = (
    "You have reached the maximum number of in process requests allowed. "
    "Kindly try again after some time."
)
ACCESS_DENIED = {
    "error": "Access Denied",
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "status": "failure",
}


class ZohoError(Exception):
    """An API error: ``status`` is the HTTP status, ``body`` the JSON Zoho sends."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = {"code": code, "message": message}

    @property
    def code(self) -> int:
        return int(str(self.body["code"]))


def invalid_url() -> ZohoError:
    return ZohoError(404, 5, "Invalid URL Passed")


def method_not_allowed() -> ZohoError:
    return ZohoError(405, 37, "The HTTP method is not allowed for the resource")


def invalid_value(param: str) -> ZohoError:
    return ZohoError(400, 2, f"Invalid value passed for {param}")


def invalid_token() -> ZohoError:
    """A missing, invalid, expired or evicted access token: Zoho answers code 57, the same
    as a missing scope (shared/api notes: no source shows a distinct "expired" code)."""
    return not_authorized()


def not_authorized() -> ZohoError:
    return ZohoError(401, 57, "You are not authorized to perform this operation")


def missing_org() -> ZohoError:
    return ZohoError(400, 6, "Invalid value passed for organization_id")


def unknown_org(org_id: str) -> ZohoError:
    return ZohoError(
        400, 6041, f"This user is not associated with the CompanyID/CompanyName:{org_id}."
    )


def not_found(label: str) -> ZohoError:
    return ZohoError(404, 1002, f"{label} does not exist.")


def per_minute() -> ZohoError:
    return ZohoError(429, 44, PER_MINUTE_MESSAGE)


def per_day(cap: int) -> ZohoError:
    return ZohoError(
        429, 45,
        f"The API call for this organization has exceeded the maximum call rate limit of {cap}.",
    )


def concurrency() -> ZohoError:
    return ZohoError(429, 1070, CONCURRENCY_MESSAGE)


def internal(status: int = 500) -> ZohoError:
    return ZohoError(status, 1000, "Internal Error")
