"""JSON-like inputs: keys, types, sizes, the text in their strings, and their caps."""

from __future__ import annotations

import dataclasses

import pydantic

from firstwatch.profiling import Limits, profile_input
from unit.profiling import docs


def test_dict_keys_types_and_sizes() -> None:
    value = {
        "question": docs.SAMPLES["en"],
        "Top K": 5,
        "filters": {"year": 2024, "tags": ["a", "b"]},
        "documents": ["a.pdf", "b.pdf", "c.pdf"],
        "strict": True,
        "temperature": 0.2,
        "parent": None,
    }
    profile = profile_input(value)
    assert profile["profile.kind"] == "json"
    assert profile["json.type"] == "object"
    assert profile["json.keys"] == "Top K,documents,filters,parent,question,strict,temperature"
    assert profile["json.types"] == (
        "Top K:integer,documents:array,filters:object,parent:null,question:string,"
        "strict:boolean,temperature:number"
    )
    assert profile["json.items"] == 7
    assert profile["json.len.question"] == len(docs.SAMPLES["en"])
    assert profile["json.len.documents"] == 3
    assert profile["json.len.filters"] == 2
    assert "json.len.top_k" not in profile
    # root, 7 values, 2 inside filters, 2 tags, 3 documents
    assert profile["json.nodes"] == 15
    assert profile["json.depth"] == 4
    assert profile["json.string_chars"] == len(docs.SAMPLES["en"]) + 2 + 15
    assert profile["text.language"] == "en"
    assert profile["profile.capped"] is False


def test_key_names_become_snake_case_feature_names() -> None:
    profile = profile_input({"User Name": "Ada", "e-mail": "ada@example.org"})
    assert profile["json.len.user_name"] == 3
    assert profile["json.len.e_mail"] == 15


def test_list_input() -> None:
    profile = profile_input([{"id": 1}, {"id": 2}])
    assert profile["json.type"] == "array"
    assert profile["json.items"] == 2
    assert "json.keys" not in profile
    assert profile["json.depth"] == 3


def test_large_list_is_capped_at_the_node_limit() -> None:
    profile = profile_input(list(range(1_000_000)), limits=Limits(max_json_nodes=500))
    assert profile["json.items"] == 1_000_000
    assert profile["json.nodes"] == 500
    assert profile["profile.capped"] is True
    assert profile["profile.cap"] == "json"


def test_cyclic_structure_ends_at_the_node_limit() -> None:
    loop: dict[str, object] = {"name": "loop"}
    loop["self"] = loop
    profile = profile_input(loop, limits=Limits(max_json_nodes=100))
    assert profile["json.nodes"] == 100
    assert profile["profile.capped"] is True
    assert "profile.error" not in profile


def test_deeply_nested_structure_does_not_recurse() -> None:
    deep: list[object] = []
    for _ in range(50_000):
        deep = [deep]
    profile = profile_input(deep, limits=Limits(max_json_nodes=60_000))
    assert profile["json.depth"] == 50_001
    assert "profile.error" not in profile


def test_dataclass_and_pydantic_inputs_are_json_like() -> None:
    @dataclasses.dataclass
    class Ask:
        question: str
        top_k: int

    class Request(pydantic.BaseModel):
        question: str
        top_k: int

    for value in (Ask(docs.SAMPLES["es"], 3), Request(question=docs.SAMPLES["es"], top_k=3)):
        profile = profile_input(value)
        assert profile["json.types"] == "question:string,top_k:integer"
        assert profile["text.language"] == "es"


def test_other_inputs_report_their_type() -> None:
    assert profile_input(42)["other.type"] == "int"
    assert profile_input(None)["profile.kind"] == "none"
    assert profile_input(object())["profile.kind"] == "other"


def test_a_failing_input_is_reported_not_raised() -> None:
    class Broken:
        def model_dump(self) -> dict[str, object]:
            raise ValueError("cannot dump")

    profile = profile_input(Broken())
    assert profile["profile.error"] == "ValueError"
    assert profile["profile.capped"] is False
    assert isinstance(profile["profile.ms"], float)
