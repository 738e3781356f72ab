"""Typed errors shared by services and the gateway.

A service raises one of these; nameko carries it over RPC and, because each
class is registered with `deserialize_to_instance`, the caller receives the
same class again. The gateway maps `status` and `code` to the HTTP answer once,
in one place. Arguments are kept JSON-safe (message, fields, code) so they
survive the trip.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class HuiyuanError(Exception):
    status = 500
    code = "internal_error"
    default_message = "Something went wrong on our side."

    def __init__(self, message: str = "", fields: dict | None = None, code: str | None = None):
        super().__init__(message or self.default_message, fields or {}, code or self.code)

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def fields(self) -> dict:
        return self.args[1]

    @property
    def error_code(self) -> str:
        return self.args[2]

    def to_dict(self) -> dict:
        body = {"code": self.error_code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}" + (f" {self.fields}" if self.fields else "")


@deserialize_to_instance
class BadRequest(HuiyuanError):
    status = 400
    code = "bad_request"
    default_message = "The request could not be read."


@deserialize_to_instance
class ValidationFailed(HuiyuanError):
    """Well-formed input that breaks a rule; `fields` says which and why."""

    status = 422
    code = "validation_failed"
    default_message = "Some fields are not valid."


@deserialize_to_instance
class NotAuthenticated(HuiyuanError):
    status = 401
    code = "not_authenticated"
    default_message = "Sign in first."


@deserialize_to_instance
class Forbidden(HuiyuanError):
    status = 403
    code = "forbidden"
    default_message = "Your role does not allow this."


@deserialize_to_instance
class AccountLocked(HuiyuanError):
    status = 403
    code = "account_locked"
    default_message = "Too many failed sign-ins; the account is locked for a while."


@deserialize_to_instance
class NotFound(HuiyuanError):
    status = 404
    code = "not_found"
    default_message = "Not found."


@deserialize_to_instance
class Conflict(HuiyuanError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


@deserialize_to_instance
class AlreadyExists(Conflict):
    code = "already_exists"
    default_message = "That already exists."


@deserialize_to_instance
class InvalidState(Conflict):
    code = "invalid_state"
    default_message = "Not allowed in the current state."


@deserialize_to_instance
class IdempotencyMismatch(Conflict):
    code = "idempotency_mismatch"
    default_message = "This Idempotency-Key was already used for a different request."


@deserialize_to_instance
class CardNotActive(Conflict):
    code = "card_not_active"
    default_message = "The card is not active."


@deserialize_to_instance
class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    default_message = "The balance does not cover the amount due."


@deserialize_to_instance
class LimitExceeded(Conflict):
    code = "limit_exceeded"
    default_message = "The spending limit would be exceeded."


@deserialize_to_instance
class ServiceUnavailable(HuiyuanError):
    """The request certainly did not reach a service that could act on it: nothing was done."""

    status = 503
    code = "service_unavailable"
    default_message = "A service is not available; nothing was done. Try again shortly."


@deserialize_to_instance
class DependencyUnavailable(ServiceUnavailable):
    """A service could not reach what it depends on (its database) before acting: nothing was done."""

    code = "dependency_unavailable"
    default_message = "A service cannot reach its database; nothing was done. Try again shortly."


@deserialize_to_instance
class ServiceTimeout(HuiyuanError):
    """The request may have reached a service, and its outcome is not known (a timeout, a
    connection lost after sending, a commit whose answer never came). Only a retry with the
    same Idempotency-Key is safe: it gets the first outcome, or does the work once."""

    status = 504
    code = "outcome_unknown"
    default_message = (
        "The outcome is not known: retry with the same Idempotency-Key until the answer is a success or a refusal."
    )


@deserialize_to_instance
class DeadlineExceeded(ServiceTimeout):
    """A mutation reached its service after the caller's deadline, or was still running when it
    passed: it was not done, but the caller has already been told the outcome is unknown."""

    code = "deadline_exceeded"
    default_message = "The request arrived after its deadline and was not done; retry with the same Idempotency-Key."


@deserialize_to_instance
class InsufficientPoints(Conflict):
    """P-6: a redemption or deduction the member's points cannot cover; `fields` names the amount."""

    code = "insufficient_points"
    default_message = "The member's points do not cover this."


@deserialize_to_instance
class OutOfStock(Conflict):
    """G-2: a gift redemption asks for more than is left where it is taken from; `fields` names
    `quantity`."""

    code = "out_of_stock"
    default_message = "Not enough of this gift is left."
