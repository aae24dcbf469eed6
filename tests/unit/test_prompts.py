"""The prompt block: templates fill as declared, answers parse as declared, judge scores parse strictly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tiergate.models import Checker, Parse, Prompt
from tiergate.runs.prompt import Unparsable, fill, parse_answer
from tiergate.runs.scorers import JudgeUnparsable, parse_score


def test_fill_replaces_declared_fields_and_keeps_doubled_braces():
    assert fill("Q: {input} {{literal}} {n}", {"input": "hi", "n": 3}) == "Q: hi {literal} 3"
    assert fill("{obj}", {"obj": {"b": 1, "a": 2}}) == '{"a": 2, "b": 1}'


@pytest.mark.parametrize("parse, text, value", [
    ({}, "  billing \n", "billing"),
    ({"casefold": True}, "Billing", "billing"),
    ({"strip": False}, " x ", " x "),
    ({"json": True}, ' {"a": 1} ', {"a": 1}),
    ({"json": True, "field": "label"}, '{"label": "BUG"}', "BUG"),
    ({"json": True, "field": "r.label", "casefold": True}, '{"r": {"label": "BUG"}}', "bug"),
])
def test_parse_steps(parse, text, value):
    assert parse_answer(Parse.model_validate(parse), text) == value


@pytest.mark.parametrize("parse, text", [({"json": True}, "not json"), ({"json": True, "field": "label"}, '{"other": 1}'),
                                         ({"json": True, "field": "a.b"}, '{"a": 3}')])
def test_unparsable_answers(parse, text):
    with pytest.raises(Unparsable):
        parse_answer(Parse.model_validate(parse), text)


@pytest.mark.parametrize("text, score", [("7", 7.0), (" 8.5\n", 8.5), ("10", 10.0), ("0", 0.0), ("10.0", 10.0)])
def test_judge_scores_parse_strictly(text, score):
    assert parse_score(text) == score


@pytest.mark.parametrize("text", ["", "7/10", "Score: 7", "11", "-1", "7 out of 10", "10.5", "seven", None])
def test_anything_else_from_a_judge_is_refused(text):
    with pytest.raises(JudgeUnparsable):
        parse_score(text)


@pytest.mark.parametrize("data, message", [
    ({}, "exactly one of template"),
    ({"inline": "x", "template": "policy/prompts/a.txt"}, "exactly one of template"),
    ({"inline": "Q: {question}"}, "fields does not list"),
    ({"inline": "x", "parse": {"field": "label"}}, "set json: true"),
])
def test_malformed_prompt_blocks_are_schema_errors(data, message):
    with pytest.raises(ValidationError, match=message):
        Prompt.model_validate(data)


def test_a_checker_takes_exactly_one_kind():
    with pytest.raises(ValidationError, match="exactly one"):
        Checker.model_validate({"regex": "a", "entry_point": "m:f"})
    with pytest.raises(ValidationError, match="does not compile"):
        Checker.model_validate({"regex": "("})
    assert Checker.model_validate({"entry_point": "pkg.mod:check"}).entry_point == "pkg.mod:check"


def _contract(**prompt):
    import yaml

    from conftest import PROJECT
    from tiergate.models import Contract

    data = yaml.safe_load((PROJECT / "policy/tasks/intent-classification.yaml").read_text())
    data["prompt"] = {"inline": "Classify: {input}", **prompt}
    return Contract.model_validate(data)


@pytest.mark.parametrize("prompt, message", [
    ({"checker": {"regex": "x"}}, "checker is for pass_rate"),
    ({"judge": {"model": "anthropic/claude-opus-4-1", "rubric": "policy/prompts/r.md"}}, "judge is for rubric_mean"),
])
def test_a_prompt_must_fit_the_slo_metric(prompt, message):
    with pytest.raises(ValidationError, match=message) as caught:
        _contract(**prompt)
    assert caught.value.errors()[0]["loc"][0] == "prompt"  # located at the prompt block, not the top level


def test_the_example_contracts_prompt_is_valid():
    assert _contract().prompt is not None
