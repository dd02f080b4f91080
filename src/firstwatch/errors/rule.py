"""A rule of the error classifier: conditions on the facts of an error, and its class."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from firstwatch.errors.facts import Evidence, is_int_in
from firstwatch.errors.taxonomy import ERROR_CLASSES


class RuleError(ValueError):
    """A malformed rule; ``problem`` says what is wrong without naming the rule."""

    def __init__(self, name: object, problem: str) -> None:
        super().__init__(f"rule {name!r}: {problem}")
        self.problem = problem


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: conditions on the facts and the class they imply.

    A rule matches when every condition it sets holds; a condition holds when any of its
    values matches. At least one condition must be set.

    Attributes:
        name: a short unique name, shown when explaining a classification.
        error_class: the class given on a match, one of ``ERROR_CLASSES``.
        types: exception type patterns (shell-style, case-insensitive), each tried against the
            full dotted name and its last component, of the exception type and ``error.type``
            (``"RateLimitError"`` matches ``openai.RateLimitError``; ``"*Timeout"`` matches
            ``httpx.ReadTimeout``).
        http_status: HTTP status codes; also read from messages such as ``"Error code: 429"``.
        grpc_codes: gRPC status codes by number; also read from ``StatusCode.NAME`` in messages.
        message: a regular expression searched, case-insensitively, in the exception message
            and the status description.
        span_kinds: firstwatch span kinds the rule is limited to.
    """

    name: str
    error_class: str
    types: tuple[str, ...] = ()
    http_status: frozenset[int] = frozenset()
    grpc_codes: frozenset[int] = frozenset()
    message: str | None = None
    span_kinds: frozenset[str] = frozenset()
    _type_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _message_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError(self.name, "name must be a non-empty string")
        if self.error_class not in ERROR_CLASSES:
            raise RuleError(
                self.name,
                f"unknown error class {self.error_class!r}; "
                f"expected one of: {', '.join(ERROR_CLASSES)}",
            )
        types = _as_tuple(self.types)
        kinds = frozenset(_as_tuple(self.span_kinds))
        if not all(isinstance(t, str) and t.strip() for t in types):
            raise RuleError(self.name, "types must be non-empty strings")
        if not all(isinstance(k, str) and k for k in kinds):
            raise RuleError(self.name, "span_kinds must be non-empty strings")
        http_status = frozenset(self.http_status)
        bad_http = sorted(str(c) for c in http_status if not is_int_in(c, 100, 599))
        if bad_http:
            raise RuleError(self.name, f"HTTP status codes must be 100-599, not {bad_http}")
        grpc_codes = frozenset(self.grpc_codes)
        bad_grpc = sorted(str(c) for c in grpc_codes if not is_int_in(c, 0, 16))
        if bad_grpc:
            raise RuleError(self.name, f"gRPC codes must be 0-16, not {bad_grpc}")
        message_re = None
        if self.message is not None:
            if not isinstance(self.message, str) or not self.message:
                raise RuleError(self.name, "message must be a non-empty regular expression")
            # Messages are searched lowercased; a pattern with capitals needs IGNORECASE.
            capitals = any(c.isupper() for c in re.sub(r"\\.", "", self.message))
            try:
                message_re = re.compile(self.message, re.IGNORECASE if capitals else 0)
            except re.error as exc:
                raise RuleError(self.name, f"message is not a valid regex: {exc}") from exc
        if not (types or http_status or grpc_codes or message_re or kinds):
            raise RuleError(
                self.name,
                "needs at least one condition: types, http_status, grpc_codes, message "
                "or span_kinds",
            )
        type_re = (
            re.compile("|".join(fnmatch.translate(t.strip().lower()) for t in types))
            if types
            else None
        )
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "span_kinds", kinds)
        object.__setattr__(self, "http_status", http_status)
        object.__setattr__(self, "grpc_codes", grpc_codes)
        object.__setattr__(self, "_type_re", type_re)
        object.__setattr__(self, "_message_re", message_re)

    def matches(self, evidence: Evidence) -> bool:
        """Whether every condition of the rule holds for the evidence."""
        if self._type_re is not None and not any(self._type_re.match(t) for t in evidence.types):
            return False
        if self.http_status and evidence.http_status not in self.http_status:
            return False
        if self.grpc_codes and evidence.grpc_code not in self.grpc_codes:
            return False
        if self._message_re is not None and not self._message_re.search(evidence.text):
            return False
        return not self.span_kinds or evidence.span_kind in self.span_kinds


def _as_tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)
