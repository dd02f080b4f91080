"""Redaction on ingest: attributes whose names say they hold a credential are not stored.

design.md §5 orders ingest as decode → map → checks → redact → truncate → log. Redaction goes by
the attribute's name, not its value: the last dotted part of the name (lower case, `-` read as
`_`), so `http.request.header.authorization`, `llm.api_key` and `db.password` are hidden while
`gen_ai.usage.input_tokens` and `firstwatch.resource.key` are kept. Looking at names costs one
dictionary lookup per attribute; scanning every value for secret-looking text cost 5–90 µs a span
(against 14 µs for the whole mapping), so values are stored as sent: keep secrets out of prompts
and outputs at the source.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
"""What a hidden attribute's value becomes."""

SECRET_NAMES = frozenset(
    {
        "access_key",
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "auth_token",
        "authorization",
        "bearer_token",
        "client_secret",
        "cookie",
        "credentials",
        "id_token",
        "passwd",
        "password",
        "private_key",
        "proxy_authorization",
        "refresh_token",
        "secret",
        "secret_key",
        "session_token",
        "set_cookie",
        "token",
        "x_api_key",
        "x_auth_token",
    }
)
"""Last parts of attribute names that hide the value (HTTP header attributes end in the header's
name, e.g. `http.request.header.x-api-key`)."""


def _name(key: str) -> str:
    return key.rsplit(".", 1)[-1].lower().replace("-", "_")


class Redactor:
    """Decides, once per distinct attribute name, whether its value is hidden.

    `extra` adds words and whole names (as the `redact_keys` setting, split at commas; blanks
    and surrounding spaces are ignored).
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        extra = [e.strip() for e in extra if e.strip()]
        self._names = SECRET_NAMES | {_name(e) for e in extra if "." not in e}
        self._keys = frozenset(e for e in extra if "." in e)
        self.hidden: dict[str, bool] = {}
        """Every name seen so far, and whether it is hidden: read with `.get` on the hot path,
        then `hides` for a name not seen yet."""

    def hides(self, key: str) -> bool:
        """Whether the value of the attribute `key` is hidden (and remember the answer)."""
        hidden = key in self._keys or _name(key) in self._names
        if len(self.hidden) < 100_000:  # a flood of distinct names must not grow it for ever
            self.hidden[key] = hidden
        return hidden


DEFAULT_REDACTOR = Redactor()
"""Hides the credential names only (`SECRET_NAMES`)."""
