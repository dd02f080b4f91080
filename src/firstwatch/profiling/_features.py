"""The declared table of input features and their kind.

Drift analysis reads this table to choose its statistics: quantile bins and the
Kolmogorov–Smirnov statistic for numeric features, category shares for
categorical ones (booleans are categorical).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

FeatureKind = Literal["numeric", "categorical"]

NUMERIC: FeatureKind = "numeric"
CATEGORICAL: FeatureKind = "categorical"


@dataclass(frozen=True)
class Feature:
    """One input feature a profiler may emit.

    Attributes:
        name: Flat lower_snake_case name; ``{key}`` stands for a sanitised JSON key.
        kind: ``numeric`` or ``categorical``.
        description: What the value means.
        drift: Whether drift analysis should compare it (false for the profiler's own cost).
    """

    name: str
    kind: FeatureKind
    description: str
    drift: bool = True


def _table(*features: Feature) -> Mapping[str, Feature]:
    return MappingProxyType({feature.name: feature for feature in features})


FEATURES: Mapping[str, Feature] = _table(
    # The profile itself.
    Feature("profile.kind", CATEGORICAL, "document, text, json, none or other"),
    Feature("profile.capped", CATEGORICAL, "true when a cap stopped part of the work"),
    Feature(
        "profile.cap",
        CATEGORICAL,
        "caps met, comma-separated: bytes, pages, text, decompressed, pdf_limit, json, time",
    ),
    Feature("profile.error", CATEGORICAL, "type of an internal failure; features may be partial"),
    Feature("profile.ms", NUMERIC, "milliseconds the profile took", drift=False),
    Feature("other.type", CATEGORICAL, "Python type of an input that is not a document/text/JSON"),
    # Documents.
    Feature("doc.declared_type", CATEGORICAL, "media type from the caller or the file name"),
    Feature("doc.sniffed_type", CATEGORICAL, "media type from the magic bytes"),
    Feature("doc.type_mismatch", CATEGORICAL, "declared and sniffed types disagree"),
    Feature("doc.bytes", NUMERIC, "size in bytes"),
    Feature("doc.pages", NUMERIC, "pages (an image counts as one)"),
    Feature("doc.pages_analysed", NUMERIC, "pages whose text layer was read"),
    Feature("doc.text_chars_per_page", NUMERIC, "text-layer characters per page; ~0 is a scan"),
    Feature("doc.text_pages_share", NUMERIC, "share of pages analysed that have a text layer"),
    Feature("doc.scanned", CATEGORICAL, "no page analysed has a text layer"),
    Feature("doc.encrypted", CATEGORICAL, "the document is encrypted"),
    Feature("doc.corrupt", CATEGORICAL, "the document is truncated or does not parse"),
    Feature("doc.encoding", CATEGORICAL, "text documents: utf-8, utf-8-bom, utf-16 or legacy"),
    Feature("doc.archive_members", NUMERIC, "ZIP-based documents: members in the archive"),
    Feature("doc.compression_ratio", NUMERIC, "ZIP-based documents: declared inflated/compressed"),
    # Text, of a string input or of the text extracted from a document or JSON strings.
    Feature("text.chars", NUMERIC, "characters of text"),
    Feature("text.language", CATEGORICAL, "ISO 639 code of the detected language, und if unsure"),
    Feature("text.language_score", NUMERIC, "confidence of the detected language, 0..1"),
    Feature("text.script", CATEGORICAL, "dominant Unicode script of the letters, none if none"),
    Feature("text.script_share", NUMERIC, "share of the letters in the dominant script"),
    Feature("text.repeated_share", NUMERIC, "share of text in lines/sentences seen before"),
    Feature("text.nonprintable_share", NUMERIC, "share of control, format and unassigned chars"),
    Feature("text.replacement_share", NUMERIC, "share of U+FFFD replacement characters"),
    Feature("text.mojibake_share", NUMERIC, "share of chars in UTF-8-read-as-Latin-1 sequences"),
    Feature("text.digit_share", NUMERIC, "share of decimal digits"),
    # JSON-like inputs (dict, list, JSON documents).
    Feature("json.type", CATEGORICAL, "type of the top-level value"),
    Feature("json.keys", CATEGORICAL, "top-level keys, sorted, comma-separated"),
    Feature("json.types", CATEGORICAL, "top-level key:type pairs, sorted, comma-separated"),
    Feature("json.items", NUMERIC, "entries of the top-level object or array"),
    Feature("json.nodes", NUMERIC, "values visited"),
    Feature("json.depth", NUMERIC, "nesting depth"),
    Feature("json.string_chars", NUMERIC, "characters in all string values"),
    Feature("json.len.{key}", NUMERIC, "length of a top-level value (string, array or object)"),
)


def feature_for(name: str) -> Feature | None:
    """Return the declared feature a profile's key belongs to.

    Args:
        name: A key of a profile, such as ``text.language`` or ``json.len.question``.

    Returns:
        The declared feature, matching ``{key}`` patterns, or None if undeclared.
    """
    feature = FEATURES.get(name)
    if feature is not None:
        return feature
    for pattern, declared in FEATURES.items():
        prefix, marker, suffix = pattern.partition("{key}")
        if (
            marker
            and name.startswith(prefix)
            and name.endswith(suffix)
            and len(name) > len(prefix) + len(suffix)
        ):
            return declared
    return None
