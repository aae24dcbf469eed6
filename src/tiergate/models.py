"""Pydantic models of the catalog, the quality contracts and the eval artifacts.

Strict mode on purpose: a policy file that says ``threshold: "0.9"`` is a typo waiting to be
misread, so strings are not coerced to numbers and unknown keys are rejected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError,
                      ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from tiergate.metrics import METRICS, RUBRIC_MAX, MetricName

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lowercase letters, digits and dashes")]
OWNER_PATTERN = r"^(@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)$"
Owner = Annotated[str, Field(pattern=OWNER_PATTERN, description="GitHub @user, @org/team, or an e-mail address")]
MODEL_ID = r"^[A-Za-z0-9][\w.-]*/[\w.:@/-]+$"
ModelId = Annotated[str, Field(pattern=MODEL_ID, description="LiteLLM-style provider/model id")]
MAX_TOKENS = 1_000_000_000  # no model reads or writes more in one call; larger is a typo or an attack
MAX_SAMPLES = 10_000_000
PerMillion = Annotated[float, Field(ge=0, le=10_000, description="USD per million tokens")]
Tokens = Annotated[int, Field(gt=0, le=MAX_TOKENS)]
TokenCount = Annotated[int, Field(ge=0, le=MAX_TOKENS)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Days = Annotated[int, Field(ge=1, le=3650)]
TaskClass = Literal["pattern-matching", "compositional", "reasoning-intensive"]
Impact = Literal["low", "medium", "high"]
Signal = Literal[
    "label_outside_set",
    "schema_invalid",
    "tool_error",
    "judge_score_below",
    "self_consistency_below",
    "confidence_below",
]


CONTEXT_GUARD = 0.8
FALLBACK_GROUP = "tiergate-fallback"  # the router group a service calls for a task the policy does not know: no task may take it


class Strict(BaseModel):
    """Strict on purpose: no coercion, no unknown keys, and no NaN or infinity anywhere (NaN compares
    false with everything, so a NaN score or threshold would slip past every bound)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


# --- catalog ---------------------------------------------------------------------------


class PriceBand(Strict):
    max_input_per_mtok: PerMillion
    max_output_per_mtok: PerMillion


# --- deployment settings (a catalog model's litellm_params and model_info) ----------------

ENV_PREFIX = "os.environ/"  # LiteLLM reads the named environment variable where the router runs
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
SECRET_WORDS = ("key", "secret", "token", "password", "credential")  # a key naming any of these holds a secret
MAX_SETTINGS = 64
MAX_SETTING_CHARS = 4096
MAX_SETTING_INT = 2**53  # exact in every JSON reader
_SETTING_KINDS = "a string, a finite number, a boolean or a list of strings"


def is_env_ref(value: object) -> bool:
    """``os.environ/NAME``: the one way a secret may appear in the catalog (the name is checked on load)."""
    return isinstance(value, str) and value.startswith(ENV_PREFIX)


def secret_looking(key: str) -> bool:
    """api_key, aws_secret_access_key, aws_access_key_id, azure_ad_token, vertex_credentials, ..."""
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def env_name(model_id: str, suffix: str = "API_KEY") -> str:
    """The conventional variable for a provider: OPENAI_API_KEY for openai/..., AZURE_AI_API_KEY for azure_ai/..."""
    provider = model_id.split("/", 1)[0]
    return f"{re.sub(r'[^A-Z0-9]', '_', provider.upper())}_{suffix}"


def _setting_value(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One clear message instead of one per union member; and no NaN, no nesting, no malformed reference."""
    if isinstance(value, dict):
        raise PydanticCustomError("setting_value", f"a nested mapping is not a deployment setting: use {_SETTING_KINDS}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("setting_value", "NaN and infinity are not deployment settings: use a finite number")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise PydanticCustomError("setting_value", "a list setting holds strings only")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SETTING_INT:
        raise PydanticCustomError("setting_value", "an integer setting must lie within ±2**53")
    if isinstance(value, list) and len(value) > MAX_SETTINGS:
        raise PydanticCustomError("setting_value", f"a list setting holds at most {MAX_SETTINGS} strings")
    if any(isinstance(text, str) and len(text) > MAX_SETTING_CHARS for text in (value if isinstance(value, list) else [value])):
        raise PydanticCustomError("setting_value", f"a setting string is at most {MAX_SETTING_CHARS} characters")
    try:
        out = handler(value)
    except ValidationError:
        raise PydanticCustomError("setting_value", f"use {_SETTING_KINDS}") from None
    for text in out if isinstance(out, list) else [out]:
        if is_env_ref(text) and not ENV_NAME.fullmatch(text[len(ENV_PREFIX):]):
            # never echo the text: a malformed reference is often the secret pasted after the prefix
            raise PydanticCustomError("setting_value", "an os.environ/NAME reference needs NAME made of A-Z, 0-9 and _, not starting "
                                                       "with a digit (e.g. os.environ/OPENAI_API_KEY)")
    return out


SettingText = Annotated[StrictStr, Field(max_length=MAX_SETTING_CHARS)]
SettingValue = Annotated[
    Union[StrictBool, Annotated[StrictInt, Field(ge=-MAX_SETTING_INT, le=MAX_SETTING_INT)],
          Annotated[float, Field(strict=True, allow_inf_nan=False)], SettingText,
          Annotated[list[SettingText], Field(max_length=MAX_SETTINGS)]],
    WrapValidator(_setting_value),
]
SETTING_KEY = r"^[a-z][a-z0-9_]{0,63}$"
_PRICED = re.compile(r"cost|pricing|uplift|^ptu_|^base_model$")  # anything LiteLLM would charge or size by


def _common_reason(key: str) -> Optional[str]:
    if _PRICED.search(key):
        return ("would change what LiteLLM charges or how it sizes the model: prices come only from the catalog's "
                "input_per_mtok/output_per_mtok (checked against the band by TG202); remove it")
    if key in ("max_tokens", "max_completion_tokens"):
        return "is set by tiergate: the contract's routing.max_output_tokens (or the fallback's min_completion_tokens); remove it"
    if key == "max_input_tokens":
        return "is set by tiergate: the tier's context guard; remove it"
    if key.startswith("mock_"):
        return "answers without calling the model; it never belongs in a policy; remove it"
    return None


def _param_key(key: str) -> str:
    reason = _common_reason(key)
    if reason is None and key == "order":
        reason = "is set by tiergate: the catalog's model order; reorder the tier's models instead"
    if reason is None and "fallbacks" in key:
        reason = "would route past the task's ceiling: tiergate writes the fallbacks in router_settings; remove it"
    if reason is None and key == "model_info":
        reason = "is not a litellm_params setting: put the extras in the model's model_info"
    if reason:
        raise ValueError(f"litellm_params.{key} {reason}")
    return key


def _info_key(key: str) -> str:
    reason = _common_reason(key)
    if reason is None and key == "id":
        reason = "is set by tiergate: <task>.<tier>.<model>; remove it"
    if reason is None and key == "max_output_tokens":
        reason = "is set by tiergate from the model's max_output_tokens; remove it"
    if reason is None and key.startswith("tiergate_"):
        reason = "uses the tiergate_ prefix, which is tiergate's own; rename it"
    if reason:
        raise ValueError(f"model_info.{key} {reason}")
    return key


ParamKey = Annotated[str, Field(pattern=SETTING_KEY), AfterValidator(_param_key)]
InfoKey = Annotated[str, Field(pattern=SETTING_KEY), AfterValidator(_info_key)]


class ModelEntry(Strict):
    id: ModelId = Field(description="the model's identity in the policy (evidence, deployment ids); "
                                    "the router calls it unless litellm_params.model says otherwise")
    input_per_mtok: PerMillion
    output_per_mtok: PerMillion
    context_window: Tokens
    max_output_tokens: Tokens
    litellm_params: dict[ParamKey, SettingValue] = Field(
        default_factory=dict, max_length=MAX_SETTINGS, json_schema_extra={"additionalProperties": False},
        description="deployment settings passed into each LiteLLM deployment of this model (api_base, api_version, aws_region_name, "
                    "rpm, tpm, timeout, stream_timeout, max_retries, tags, ...); secrets only as os.environ/NAME references (TG205); "
                    "model: the provider id the router calls instead of id")
    model_info: dict[InfoKey, SettingValue] = Field(
        default_factory=dict, max_length=MAX_SETTINGS, json_schema_extra={"additionalProperties": False},
        description="extras merged into each deployment's model_info; tiergate's own keys (id, prices, token limits, "
                    "tiergate_*) are refused")

    @field_validator("litellm_params")
    @classmethod
    def _provider_model(cls, value: dict[str, Any]) -> dict[str, Any]:
        model = value.get("model")
        if model is not None and not (isinstance(model, str) and re.match(MODEL_ID, model)):
            raise ValueError("litellm_params.model must be a LiteLLM provider/model id, e.g. openai/my-deployment or azure/prod-gpt-4o")
        return value

    @property
    def provider_model(self) -> str:
        """What the router calls: litellm_params.model when set, else the catalog id."""
        model = self.litellm_params.get("model")
        return model if isinstance(model, str) else self.id


class Tier(Strict):
    id: Identifier
    description: str = ""
    revised: dt.date = Field(description="when the tier's models or prices last changed")
    price_band: PriceBand
    min_completion_tokens: Tokens = Field(description="smallest output budget routers may allow on this tier")
    models: list[ModelEntry] = Field(min_length=1, description="in order of preference; the first is the primary")

    def model_ids(self) -> set[str]:
        return {m.id for m in self.models}

    @property
    def context_guard(self) -> int:
        """Largest input a router may send here: a share of the smallest window, since token counts are estimates."""
        return math.floor(CONTEXT_GUARD * min(m.context_window for m in self.models))


class Defaults(Strict):
    review_cadence_days: Days = 90
    max_evidence_age_days: Days = 90
    confidence_level: Annotated[float, Field(gt=0.5, lt=1, description="for judging failing evidence conclusive")] = 0.95
    min_samples_floor: Annotated[int, Field(ge=2, le=MAX_SAMPLES, description="smallest min_samples a contract may set")] = 30


class CostGuard(Strict):
    """The platform team's limit on what one pull request may add to the monthly bill without their approval.

    Judged by ``tiergate check`` against the **base** branch's catalog, so a pull request cannot loosen the
    guard that judges it. Increases are summed over the tasks that got dearer (decreases elsewhere do not
    offset them), per task and in total, on both the direct and the all-in monthly cost.
    """

    monthly_increase_usd: Optional[Annotated[float, Field(ge=0, le=1_000_000_000)]] = Field(
        default=None, description="USD a month: a larger increase (one task's, or all tasks' together) needs the approver")
    monthly_increase_percent: Optional[Annotated[float, Field(ge=0, le=1_000_000)]] = Field(
        default=None, description="percent of the affected tasks' base spend: a larger increase needs the approver")
    severity: Literal["warning", "error"] = Field(default="warning", description="error blocks the merge until the guard is "
                                                                                 "raised in its own change")
    approver: Optional[Owner] = Field(default=None, description="who must approve a larger increase (default: platform_owner)")

    @model_validator(mode="after")
    def _has_threshold(self) -> "CostGuard":
        if self.monthly_increase_usd is None and self.monthly_increase_percent is None:
            raise ValueError("cost_guard needs monthly_increase_usd, monthly_increase_percent or both")
        return self


# --- audit: where production telemetry keeps each field (tiergate audit) --------------------

# A column or attribute name reaches SQL only quoted, but is also held to this shape, so a catalog
# edit cannot smuggle SQL through it (a name like `spend"; DROP TABLE x; --` is a schema error).
SqlName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", description="a column name (letters, digits, _)")]
SqlTable = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$",
                                description="a table, optionally schema-qualified (schema.table)")]
JsonKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$", description="a top-level key of the JSON column")]
TagPrefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_:=/-]{0,31}$", description="e.g. task: for tags like task:<id>")]
AttributeName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$", description="an OpenTelemetry span attribute key")]


class SpendLogMapping(Strict):
    """Columns of a LiteLLM proxy spend log (the PostgreSQL table, or a JSON Lines, CSV or Parquet export of it).

    The task id is the first of task_column, task_metadata_key and the first request tag starting with
    task_tag_prefix that is present on a row. Clients of the proxy can set tags and metadata: see the README."""

    table: SqlTable = "LiteLLM_SpendLogs"
    time: SqlName = "startTime"
    model: SqlName = "model"
    spend: Optional[SqlName] = Field(default="spend", description="USD the proxy logged for the call; null when not logged")
    input_tokens: SqlName = "prompt_tokens"
    output_tokens: SqlName = "completion_tokens"
    tags: SqlName = "request_tags"
    metadata: SqlName = "metadata"
    task_column: Optional[SqlName] = Field(default=None, description="a column holding the task id (e.g. model_group)")
    task_metadata_key: Optional[JsonKey] = Field(default=None, description="a key of the metadata column holding the task id")
    task_tag_prefix: Optional[TagPrefix] = Field(default="task:", description="request tags <prefix><task id>; null: tags are not read")


class SpanMapping(Strict):
    """Attributes of OpenTelemetry GenAI spans (OTLP JSON); the task id is a span (or resource) attribute."""

    task: AttributeName = "tiergate.task"
    model: AttributeName = Field(default="gen_ai.response.model", description="falls back to gen_ai.request.model when absent")
    input_tokens: AttributeName = "gen_ai.usage.input_tokens"
    output_tokens: AttributeName = "gen_ai.usage.output_tokens"
    spend: Optional[AttributeName] = Field(default=None, description="a span attribute with the call's USD cost, if one is recorded")


class AuditSettings(Strict):
    spend_log: SpendLogMapping = SpendLogMapping()
    spans: SpanMapping = SpanMapping()


class Catalog(Strict):
    platform_owner: Owner
    defaults: Defaults = Defaults()
    cost_guard: Optional[CostGuard] = Field(default=None, description="monthly cost increases that need the platform team's approval")
    tiers: list[Tier] = Field(min_length=1, description="rank order, lowest (cheapest) first")
    audit: AuditSettings = Field(default=AuditSettings(), description="where `tiergate audit` finds task, model, tokens and spend")

    def rank(self, tier_id: str) -> Optional[int]:
        for index, tier in enumerate(self.tiers):
            if tier.id == tier_id:
                return index
        return None

    def tier(self, tier_id: str) -> Optional[Tier]:
        rank = self.rank(tier_id)
        return None if rank is None else self.tiers[rank]


# --- contracts -------------------------------------------------------------------------


class SLO(Strict):
    metric: MetricName
    threshold: float
    min_samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES)]
    eval_set: Annotated[str, Field(min_length=1, description="repo path evals/datasets/<name>.jsonl, or an external URI (scheme://...)")]

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, value: float, info: ValidationInfo) -> float:
        metric = info.data.get("metric")
        top = METRICS[metric].max_value if metric else float("inf")
        if not 0 < value <= top:
            raise ValueError(f"threshold {value:g} is out of range for {metric}: use a value in (0, {top:g}]")
        return value


class Escalation(Strict):
    signal: Signal
    threshold: Optional[float] = Field(default=None, validate_default=True, description="required for *_below signals")
    ceiling: Identifier = Field(description="highest tier escalated traffic may reach")

    @field_validator("threshold")
    @classmethod
    def _threshold_matches_signal(cls, value: Optional[float], info: ValidationInfo) -> Optional[float]:
        signal = info.data.get("signal")
        if signal is None:
            return value
        needs = signal.endswith("_below")
        if needs and value is None:
            raise ValueError(f"signal {signal} needs a threshold")
        if not needs and value is not None:
            raise ValueError(f"signal {signal} takes no threshold; remove it")
        if value is not None:
            top = RUBRIC_MAX if signal == "judge_score_below" else 1.0
            if not 0 <= value <= top:
                raise ValueError(f"threshold {value:g} is out of range for {signal}: use a value in [0, {top:g}]")
        return value


Rate = Annotated[float, Field(ge=0, le=1)]
Usd = Annotated[float, Field(ge=0, le=1_000_000_000, description="US dollars")]


class HumanReview(Strict):
    rate: Rate = Field(description="share of calls handed to a person")
    cost_per_review: Usd = Field(description="loaded cost of one review")


class TrustDamage(Strict):
    failure_rate: Rate = Field(description="share of calls whose failure a user sees")
    loss_per_failure: Usd = Field(description="estimated downstream loss of one such failure")


class Cost(Strict):
    """The inputs of the cost model. A term left out counts as zero and is reported as not estimated."""

    monthly_volume: Annotated[int, Field(ge=0, le=1_000_000_000_000)]
    avg_input_tokens: TokenCount
    avg_output_tokens: Annotated[int, Field(ge=0, le=MAX_TOKENS, description="includes thinking tokens")]
    escalation_rate: Optional[Rate] = Field(default=None, description="share of calls escalated to the next tier")
    retry_rate: Optional[Rate] = Field(default=None, description="share of calls re-sent on the same tier")
    human_review: Optional[HumanReview] = None
    trust_damage: Optional[TrustDamage] = None
    stated_per_call: Optional[Usd] = Field(default=None, description="the all-in USD per call the note claims; checked by TG604")
    note: str = ""


class Routing(Strict):
    p95_input_tokens: Tokens
    max_output_tokens: Tokens
    session_pinning: bool = False


class Evidence(Strict):
    passing: Optional[str] = Field(default=None, description="artifact under evals/ that passes the SLO on the authorized tier")
    failing: list[str] = Field(default_factory=list, description="artifacts under evals/ that miss the SLO on lower tiers")


PROMPT_FIELD = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
PromptField = Annotated[str, Field(pattern=PROMPT_FIELD, description="a field of each eval-set line")]
PromptFile = Annotated[str, Field(min_length=1, max_length=512, description="a file under policy/prompts/, by its path from the repository root")]
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> set[str]:
    """The ``{field}`` names a template fills in (``{{`` and ``}}`` are literal braces)."""
    return set(PLACEHOLDER.findall(template.replace("{{", "").replace("}}", "")))


class Parse(Strict):
    """How a model's answer becomes the value scored against ``expected``: declared, never guessed.

    Applied in this order: ``strip`` outer whitespace, ``json`` (parse the text as JSON), ``field``
    (pick a dotted field of the parsed object), ``casefold`` (a string answer, lower-cased).
    An answer that does not parse, or lacks the field, is an unparsable output: a failure.
    """

    strip: bool = True
    casefold: bool = False
    as_json: bool = Field(default=False, alias="json", description="parse the answer as JSON")
    field: Optional[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")]] = Field(
        default=None, description="dotted path into the parsed JSON answer, e.g. label or result.label (needs json: true)")

    @model_validator(mode="after")
    def _field_needs_json(self) -> "Parse":
        if self.field is not None and not self.as_json:
            raise ValueError("parse.field picks a field of a JSON answer: set json: true as well")
        return self


JsonSchema = Annotated[dict[str, Any], Field(max_length=64, description="a JSON Schema (draft 2020-12)")]


class Checker(Strict):
    """pass_rate: how one output is judged passed. Exactly one of the three.

    ``entry_point`` names a Python ``module:function`` that ``tiergate eval run`` imports and calls
    with (output, sample) on the machine that runs the eval. ``validate`` and ``check`` never import
    or run it: to the gate the contract is data.
    """

    json_schema: Optional[JsonSchema] = None
    regex: Optional[Annotated[str, Field(min_length=1, max_length=4096)]] = None
    entry_point: Optional[Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Checker":
        given = [name for name in ("json_schema", "regex", "entry_point") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a checker takes exactly one of json_schema, regex, entry_point (got {', '.join(given) or 'none'})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as err:
                raise ValueError(f"checker.regex does not compile: {err}") from None
        return self


class Judge(Strict):
    """rubric_mean: the model that scores each output against the rubric, 0 to 10.

    Its model must be in a tier at or above the task's (TG321): a weaker judge than the task's
    own tier would make a cheap tier's answers look worse, or better, than they are.
    """

    model: ModelId
    rubric: PromptFile
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0


class Prompt(Strict):
    """How ``tiergate eval run`` asks a model for each sample: part of the contract, so part of review."""

    template: Optional[PromptFile] = Field(default=None, description="user message template under policy/prompts/")
    inline: Optional[Annotated[str, Field(min_length=1, max_length=65536)]] = Field(default=None, description="the user message template itself")
    system: Optional[Annotated[str, Field(max_length=65536)]] = None
    fields: list[PromptField] = Field(default_factory=lambda: ["input"], max_length=64,
                                      description="eval-set fields that fill the template's {placeholders}")
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0
    max_output_tokens: Optional[Tokens] = Field(default=None, description="default: routing.max_output_tokens")
    response_format: Optional[JsonSchema] = Field(default=None, description="JSON Schema the answer must follow (structured output)")
    parse: Parse = Parse()
    checker: Optional[Checker] = Field(default=None, description="pass_rate: how an output passes")
    judge: Optional[Judge] = Field(default=None, description="rubric_mean: the judge model and its rubric")

    def files(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(field, path, key path in the contract) of each file this prompt names: what it asks and how it is judged.

        Both decide what a cheaper tier is failed on, so prompt rules, the gate and CODEOWNERS all read this list."""
        out = [] if self.template is None else [("template", self.template, ("prompt", "template"))]
        if self.judge is not None:
            out.append(("judge.rubric", self.judge.rubric, ("prompt", "judge", "rubric")))
        return out

    @model_validator(mode="after")
    def _one_template(self) -> "Prompt":
        if (self.template is None) == (self.inline is None):
            raise ValueError("a prompt takes exactly one of template (a file under policy/prompts/) and inline")
        if self.inline is not None:
            unknown = placeholders(self.inline) - set(self.fields)
            if unknown:
                raise ValueError(f"the inline template uses {{{', '.join(sorted(unknown))}}}, which fields does not list")
        return self


class Contract(Strict):
    task: Identifier
    description: Annotated[str, Field(min_length=10, description="the output contract: what the task returns")]
    task_class: TaskClass = Field(alias="class")
    owner: Owner
    impact: Impact
    slo: SLO
    tier: Identifier
    escalation: Optional[Escalation] = None
    cost: Cost
    routing: Routing
    evidence: Evidence = Evidence()
    reviewed: Optional[dt.date] = Field(default=None, description="last review; null means never reviewed")
    review_cadence_days: Optional[Days] = None
    prompt: Optional[Prompt] = Field(default=None, description="how `tiergate eval run` asks a model; optional")

    @field_validator("prompt")
    @classmethod
    def _prompt_fits_metric(cls, prompt: Optional[Prompt], info: ValidationInfo) -> Optional[Prompt]:
        slo = info.data.get("slo")
        if prompt is None or slo is None:
            return prompt
        metric = slo.metric
        if metric == "pass_rate" and prompt.checker is None:
            raise ValueError("a pass_rate prompt needs a checker (json_schema, regex or entry_point)")
        if metric != "pass_rate" and prompt.checker is not None:
            raise ValueError(f"checker is for pass_rate; the SLO metric is {metric}: remove it")
        if metric == "rubric_mean" and prompt.judge is None:
            raise ValueError("a rubric_mean prompt needs a judge (model and rubric)")
        if metric != "rubric_mean" and prompt.judge is not None:
            raise ValueError(f"judge is for rubric_mean; the SLO metric is {metric}: remove it")
        return prompt

    @property
    def ceiling(self) -> str:
        return self.escalation.ceiling if self.escalation else self.tier


# --- eval artifacts --------------------------------------------------------------------


class EvalSetRef(Strict):
    path: Annotated[str, Field(min_length=1)]
    sha256: Optional[Sha256] = None


class RecordsRef(Strict):
    path: Annotated[str, Field(min_length=1)]
    sha256: Sha256


class Counts(Strict):
    successes: Annotated[int, Field(ge=0, le=MAX_SAMPLES)]
    total: Annotated[int, Field(ge=1, le=MAX_SAMPLES)]


class Measured(Strict):
    """What a run measured besides its score, recomputed from its records (input for the cost model)."""

    calls: Annotated[int, Field(ge=0, le=MAX_SAMPLES)]
    errors: Annotated[int, Field(ge=0, le=MAX_SAMPLES, description="samples whose call timed out, was refused or did not parse")]
    avg_input_tokens: Annotated[float, Field(ge=0, le=MAX_TOKENS)]
    avg_output_tokens: Annotated[float, Field(ge=0, le=MAX_TOKENS)]
    p95_latency_ms: Annotated[float, Field(ge=0, le=86_400_000)]
    total_cost_usd: Usd
    cached: Annotated[int, Field(ge=0, le=MAX_SAMPLES, description="calls answered from the response cache")] = 0


class Artifact(Strict):
    task: Identifier
    tier: Identifier
    model: ModelId
    metric: MetricName
    score: Annotated[float, Field(ge=0, le=RUBRIC_MAX)]
    counts: Optional[Counts] = Field(default=None, description="required for proportion metrics")
    samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES)]
    run_at: dt.datetime
    eval_set: EvalSetRef
    records: RecordsRef
    source: Optional[Annotated[str, Field(pattern=r"^(run|inspect|promptfoo)$")]] = Field(
        default=None, description="what produced the records: tiergate eval run, or an imported Inspect or promptfoo log")
    measured: Optional[Measured] = None

    @model_validator(mode="after")
    def _consistent(self) -> "Artifact":
        proportion = METRICS[self.metric].proportion
        if proportion and self.counts is None:
            raise ValueError(f"{self.metric} artifacts need counts: {{successes, total}}")
        if not proportion and self.counts is not None:
            raise ValueError(f"{self.metric} is not a proportion; remove counts")
        if self.run_at.tzinfo is None:
            raise ValueError("run_at needs a timezone, e.g. 2026-10-02T09:00:00Z")
        if not is_external(self.eval_set.path) and self.eval_set.sha256 is None:
            raise ValueError("eval_set.sha256 is required for an eval set in the repository")
        return self


def is_external(eval_set: str) -> bool:
    """An eval set kept outside the repository is named by a URI; anything else is a repo path."""
    return "://" in eval_set


def chain_ranks(catalog: Catalog, contract: Contract) -> Optional[tuple[int, int]]:
    """Ranks of the contract's tier and ceiling, when both exist and the ceiling is not below the tier.

    Every rule past identity (routing, cost, export) needs a well-formed chain; the identity
    rules (TG105, TG106) report the contracts this returns None for.
    """
    rank, ceiling = catalog.rank(contract.tier), catalog.rank(contract.ceiling)
    if rank is None or ceiling is None or ceiling < rank:
        return None
    return rank, ceiling
