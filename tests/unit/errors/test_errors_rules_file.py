"""User rules from a TOML file: tried before the defaults, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from firstwatch.errors import DEFAULT_RULES, ErrorFacts, Rule, classify, load_rules

RULES = """
# Our vendor's SDK raises one error type for everything; its message tells them apart.
[[rule]]
name = "acme-quota"
class = "rate_limited"
types = ["acme.ApiError"]
message = "quota .* exceeded"

[[rule]]
name = "acme-other"
class = "upstream_unavailable"
types = "acme.ApiError"

[[rule]]
name = "our-gateway-timeout"
class = "timeout"
http_status = [520, "4xx"]
span_kinds = ["http"]

[[rule]]
name = "index-bug-is-input"
class = "input_unreadable"
types = ["IndexError"]
span_kinds = ["step"]

[[rule]]
name = "grpc-precondition"
class = "conflict"
grpc_codes = ["FAILED_PRECONDITION", 11]
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "error_rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_user_rules_come_first_then_the_defaults(rules_file: Path) -> None:
    rules = load_rules(rules_file)
    assert [rule.name for rule in rules[:5]] == [
        "acme-quota",
        "acme-other",
        "our-gateway-timeout",
        "index-bug-is-input",
        "grpc-precondition",
    ]
    assert rules[5:] == DEFAULT_RULES
    assert rules[0] == Rule(
        "acme-quota", "rate_limited", types=("acme.ApiError",), message="quota .* exceeded"
    )


def test_user_rules_override_the_defaults(rules_file: Path) -> None:
    rules = load_rules(rules_file)
    acme_quota = ErrorFacts(exception_type="acme.ApiError", exception_message="Quota 5 exceeded")
    acme_down = ErrorFacts(exception_type="acme.ApiError", exception_message="try later")
    index_in_step = ErrorFacts(exception_type="IndexError", span_kind="step")
    index_in_tool = ErrorFacts(exception_type="IndexError", span_kind="tool")
    http_404 = ErrorFacts(http_status=404, span_kind="http")
    llm_404 = ErrorFacts(http_status=404, span_kind="llm")
    precondition = ErrorFacts(grpc_code=9)

    assert classify(acme_quota, rules) == "rate_limited"
    assert classify(acme_down, rules) == "upstream_unavailable"
    assert classify(index_in_step, rules) == "input_unreadable"
    assert classify(http_404, rules) == "timeout"
    assert classify(precondition, rules) == "conflict"
    # Where no user rule matches, the defaults still answer.
    assert classify(index_in_tool, rules) == "agent_bug"
    assert classify(llm_404, rules) == "bad_request"
    # And without the file, the defaults alone.
    assert classify(acme_quota) == "unknown"
    assert classify(index_in_step) == "agent_bug"
    assert classify(http_404) == "bad_request"
    assert classify(precondition) == "bad_request"


def test_the_defaults_can_be_left_out(rules_file: Path) -> None:
    rules = load_rules(rules_file, defaults=())
    assert len(rules) == 5
    assert classify(ErrorFacts(exception_type="KeyError"), rules) == "unknown"


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("# no rules yet\n", encoding="utf-8")
    assert load_rules(path) == DEFAULT_RULES


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("[[rule]]\nname = 'x'\nclass = \n", "", "not valid TOML"),
        ("[rules]\nname = 'x'\n", "", "unknown top-level key(s) ['rules']"),
        ("rule = 'x'\n", "", "array of tables"),
        (
            "[[rule]]\nname = 'slow'\nclass = 'slow'\ntypes = ['X']\n",
            "rule #1 'slow'",
            "unknown error class 'slow'",
        ),
        ("[[rule]]\nclass = 'timeout'\ntypes = ['X']\n", "rule #1", "'name' is required"),
        ("[[rule]]\nname = 'no-class'\ntypes = ['X']\n", "rule #1 'no-class'", "'class'"),
        (
            "[[rule]]\nname = 'ok'\nclass = 'timeout'\ntypes = ['X']\n"
            "[[rule]]\nname = 'typo'\nclass = 'timeout'\ntype = ['X']\n",
            "rule #2 'typo'",
            "unknown key(s) ['type']",
        ),
        (
            "[[rule]]\nname = 'empty'\nclass = 'timeout'\n",
            "rule #1 'empty'",
            "at least one condition",
        ),
        (
            "[[rule]]\nname = 're'\nclass = 'timeout'\nmessage = 'time(out'\n",
            "rule #1 're'",
            "not a valid regex",
        ),
        (
            "[[rule]]\nname = 'code'\nclass = 'timeout'\nhttp_status = [4000]\n",
            "rule #1 'code'",
            "'http_status'",
        ),
        (
            "[[rule]]\nname = 'grpc'\nclass = 'timeout'\ngrpc_codes = ['SLOW']\n",
            "rule #1 'grpc'",
            "'grpc_codes'",
        ),
        (
            "[[rule]]\nname = 'types'\nclass = 'timeout'\ntypes = [1, 2]\n",
            "rule #1 'types'",
            "'types' must be a string or a list of strings",
        ),
        (
            "[[rule]]\nname = 'twice'\nclass = 'timeout'\ntypes = ['X']\n"
            "[[rule]]\nname = 'twice'\nclass = 'auth'\ntypes = ['Y']\n",
            "rule #2 'twice'",
            "duplicate rule name",
        ),
    ],
)
def test_a_bad_file_names_the_file_and_the_rule(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "bad_rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {where}")
    assert problem in message


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_rules(tmp_path / "absent.toml")
