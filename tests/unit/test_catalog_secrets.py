"""A catalog model's deployment settings: literal secrets (TG205) and what the schema refuses (TG101), in memory."""

from __future__ import annotations

import pytest

from test_families import CATALOG, NOW, MemoryTree, base
from tiergate.policy import Policy, load_policy
from tiergate.rules import catalog
from tiergate.rules.context import Context

SMALL = """\
        context_window: 10000
        max_output_tokens: 4096
"""
LINE_OF_SMALL_END = CATALOG.splitlines().index("        max_output_tokens: 4096") + 1  # 1-based line of the entry's last key


def with_settings(*lines: str, section: str = "litellm_params") -> dict[str, str]:
    """The in-memory repository with ``lines`` under openai/small's ``section``; setting k is on line LINE_OF_SMALL_END + 1 + k."""
    block = f"        {section}:\n" + "".join(f"          {line}\n" for line in lines)
    assert SMALL in CATALOG
    return base({"policy/tiers.yaml": CATALOG.replace(SMALL, SMALL + block, 1)})


def setting_line(k: int = 1) -> int:
    return LINE_OF_SMALL_END + 1 + k


def loaded(files: dict[str, str]) -> Policy:
    return load_policy(MemoryTree(files))


def secrets(files: dict[str, str]) -> list:
    policy = loaded(files)
    assert policy.findings == [], [f"{f.line}: {f.rule.id} {f.message}" for f in policy.findings]
    return [f for f in catalog.check(Context(policy, NOW)) if f.rule.id == "TG205"]


def schema_errors(files: dict[str, str]) -> list:
    policy = loaded(files)
    assert policy.catalog is None
    return [f for f in policy.findings if f.rule.id == "TG101"]


def test_a_literal_api_key_is_an_error_at_its_line():
    found = secrets(with_settings("api_base: https://gateway.example.invalid", "api_key: sk-123"))
    assert [(f.file, f.line, f.severity) for f in found] == [("policy/tiers.yaml", setting_line(2), "error")]
    message = found[0].message
    assert "litellm_params.api_key of model openai/small" in message and "os.environ/OPENAI_API_KEY" in message
    assert "sk-123" not in message  # the finding is printed in CI logs


def test_an_environment_reference_is_fine():
    assert secrets(with_settings("api_key: os.environ/OPENAI_API_KEY", "aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY",
                                 "vertex_credentials: os.environ/VERTEX_CREDENTIALS_JSON")) == []


def test_the_clean_catalog_has_no_finding():
    assert secrets(base()) == []


@pytest.mark.parametrize("key, value", [
    ("aws_secret_access_key", "abc"),
    ("aws_access_key_id", "AKIAEXAMPLE"),
    ("aws_session_token", "FwoGZX"),
    ("azure_ad_token", "eyJ0eXAi"),
    ("vertex_credentials", "/etc/keys/sa.json"),
    ("valkey_password", "hunter2"),
    ("api_key", "12345"),  # a number is a literal too
    ("api_key", "[os.environ/OPENAI_API_KEY]"),  # a list is not a reference
    ("api_key", '""'),
    ("api_key", "\n            - sk-123"),  # reported at the key, not at the list below it
])
def test_secret_looking_keys_take_only_references(key, value):
    found = secrets(with_settings("rpm: 100", f"{key}: {value}"))
    assert [(f.line, f.rule.name) for f in found] == [(setting_line(2), "literal-secret")]
    assert f"write `{key}: os.environ/" in found[0].message


def test_the_provider_override_names_the_suggested_variable():
    found = secrets(with_settings("model: azure/prod-small", "api_key: sk-123"))
    assert "os.environ/AZURE_API_KEY" in found[0].message


def test_model_info_is_checked_too():
    found = secrets(with_settings("team: support", "service_token: abc", section="model_info"))
    assert [(f.line, f.message.split(" ", 1)[0]) for f in found] == [(setting_line(2), "model_info.service_token")]


def test_credentials_in_a_url_are_a_literal_secret():
    found = secrets(with_settings("api_base: https://svc:s3cr3t@gateway.example.invalid/v1"))
    assert [f.line for f in found] == [setting_line(1)] and "s3cr3t" not in found[0].message
    assert secrets(with_settings("api_base: https://gateway.example.invalid:8443/v1@latest")) == []


def test_ordinary_settings_pass():
    assert secrets(with_settings("api_base: https://gateway.example.invalid/v1", "api_version: '2025-01-01'", "aws_region_name: eu-west-1",
                                 "rpm: 1000", "tpm: 100000", "timeout: 5", "stream_timeout: 2.5", "max_retries: 0", "tags: [eu, a]",
                                 "use_litellm_proxy: false", "model: openai/small-2026")) == []


@pytest.mark.parametrize("setting, says, below", [
    ("timeout: .nan", "NaN and infinity", 0),
    ("timeout: .inf", "NaN and infinity", 0),
    ("extra_headers: {x: y}", "nested mapping", 0),
    ("extra_headers:\n            x-team: support", "nested mapping", 1),  # TG101 points at a block value's first line
    ("tags: [eu, 3]", "strings only", 0),
    ("rpm: 18014398509481984", "2**53", 0),
    ("api_key: os.environ/sk-123", "os.environ/NAME reference needs NAME", 0),
    ("api_base: os.environ/lower_case", "os.environ/NAME reference needs NAME", 0),
])
def test_bad_values_are_schema_errors(setting, says, below):
    errors = schema_errors(with_settings("api_version: '1'", setting))
    assert len(errors) == 1 and says in errors[0].message, [e.message for e in errors]
    assert errors[0].line == setting_line(2) + below
    assert "sk-123" not in errors[0].message and "lower_case" not in errors[0].message


@pytest.mark.parametrize("section, key, says", [
    ("litellm_params", "order: 1", "catalog's model order"),
    ("litellm_params", "max_tokens: 10", "routing.max_output_tokens"),
    ("litellm_params", "input_cost_per_token: 0.1", "prices come only from the catalog"),
    ("litellm_params", "fallbacks: [anthropic/medium]", "past the task's ceiling"),
    ("litellm_params", "mock_response: hello", "never belongs in a policy"),
    ("litellm_params", "Api_Base: x", "should match pattern"),
    ("model_info", "id: other", "<task>.<tier>.<model>"),
    ("model_info", "max_input_tokens: 5", "context guard"),
    ("model_info", "max_output_tokens: 5", "max_output_tokens"),
    ("model_info", "output_cost_per_token: 0.1", "prices come only from the catalog"),
    ("model_info", "cache_read_input_token_cost: 0.1", "prices come only from the catalog"),
    ("model_info", "base_model: azure/gpt-4o", "prices come only from the catalog"),
    ("model_info", "tiergate_tier: frontier", "tiergate_ prefix"),
])
def test_what_tiergate_sets_cannot_be_overridden(section, key, says):
    errors = schema_errors(with_settings("api_version: '1'", key, section=section))
    assert len(errors) == 1 and says in errors[0].message, [e.message for e in errors]
    assert errors[0].line == setting_line(2)


def test_the_provider_override_must_be_a_model_id():
    errors = schema_errors(with_settings("model: not-a-model-id"))
    assert len(errors) == 1 and "provider/model id" in errors[0].message


def test_settings_are_typed_exactly():
    policy = loaded(with_settings("timeout: 5", "stream_timeout: 2.5", "drop_params: true", "api_version: '7'", "tags: [a]"))
    model = policy.catalog.tiers[0].models[0]
    assert model.litellm_params == {"timeout": 5, "stream_timeout": 2.5, "drop_params": True, "api_version": "7", "tags": ["a"]}
    assert [type(v) for v in model.litellm_params.values()] == [int, float, bool, str, list]
    assert model.provider_model == "openai/small"
