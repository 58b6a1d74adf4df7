"""The one error hierarchy of the services. Each error knows its HTTP status and code, so
the API, the web views and the management commands answer it the same way; and the JSON
body the API answers them with, as its schema documents it."""

from ninja import Schema


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class Invalid(ServiceError):
    pass


class NotFound(ServiceError):
    # SECURITY: outsiders and anyone who may not see a thing get this, never 403,
    # so existence is not leaked.
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found.", **extra):
        super().__init__(message, **extra)


class Forbidden(ServiceError):
    """For someone who can see the thing but whose role may not do this to it."""

    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class UnsupportedType(ServiceError):
    status = 415
    code = "unsupported_type"


_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_type",
    422: "unprocessable",
    429: "rate_limited",
}


def error_code(status: int) -> str:
    """The JSON error code for an HTTP status that no service error produced."""
    return _CODES.get(status, "server_error" if status >= 500 else "error")


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 415)}
