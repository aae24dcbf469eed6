"""Each rule family on an in-memory policy: one family's ``check``, no CLI, no disk, no git."""

from __future__ import annotations

import io

import datetime as dt
import hashlib
import json
from types import ModuleType

import pytest

from tiergate import rules
from tiergate.findings import Rule
from tiergate.loading import line_chunks
from tiergate.loading import MISSING, TOO_LARGE, LoadError
from tiergate.policy import Policy, load_policy
from tiergate.rules import REGISTRY, budget, catalog, feasibility, identity, ownership, proof
from tiergate.rules.context import Context

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
TASK = "policy/tasks/label.yaml"
DATASET = "evals/datasets/label.jsonl"
SAMPLES = 40  # records per artifact
MIN_SAMPLES = 30  # the SLO's minimum (the catalog's default floor for min_samples is 30)


class MemoryTree:
    """The ``loading.Tree`` interface over a dict of repository path -> file text."""

    def __init__(self, files: dict[str, str | bytes]) -> None:
        self._files = {path: text.encode("utf-8") if isinstance(text, str) else text for path, text in files.items()}

    def read(self, rel: str, limit: int) -> bytes:
        if rel not in self._files:
            raise LoadError(MISSING, f"'{rel}' does not exist (or is not a file)")
        raw = self._files[rel]
        if len(raw) > limit:
            raise LoadError(TOO_LARGE, f"'{rel}' is over the {limit}-byte limit")
        return raw

    def stream(self, rel: str, limit: int):
        yield from line_chunks(io.BytesIO(self.read(rel, limit)).read, 64)  # small pieces: the streaming path is exercised

    def exists(self, rel: str) -> bool:
        return rel in self._files

    def files(self, prefix: str) -> list[str]:
        folder = prefix.rstrip("/") + "/"
        return sorted(path for path in self._files if path.startswith(folder))


CATALOG = """\
platform_owner: "@acme/platform"
tiers:
  - id: lite
    revised: 2026-09-15
    price_band: {max_input_per_mtok: 1.0, max_output_per_mtok: 5.0}
    min_completion_tokens: 256
    models:
      - id: openai/small
        input_per_mtok: 0.1
        output_per_mtok: 0.4
        context_window: 10000
        max_output_tokens: 4096
  - id: mid
    revised: 2026-09-15
    price_band: {max_input_per_mtok: 3.0, max_output_per_mtok: 15.0}
    min_completion_tokens: 1024
    models:
      - id: anthropic/medium
        input_per_mtok: 3.0
        output_per_mtok: 15.0
        context_window: 200000
        max_output_tokens: 8192
"""


SECOND_MID = """\
  - id: mid
    revised: 2026-10-01
    price_band: {max_input_per_mtok: 3.0, max_output_per_mtok: 15.0}
    min_completion_tokens: 1024
    models:
      - id: google/other
        input_per_mtok: 1.0
        output_per_mtok: 4.0
        context_window: 100000
        max_output_tokens: 8192
"""


def contract(task: str = "label", tier: str = "lite", *, ceiling: str | None = None, impact: str = "low",
             p95: int = 600, max_out: int = 1024, owner: str = "@acme/team", passing: str | None = None,
             failing: tuple[str, ...] = (), cost: str = "") -> str:
    lines = [
        f"task: {task}",
        "description: Label one support message with one of four labels.",
        "class: pattern-matching",
        f'owner: "{owner}"',
        f"impact: {impact}",
        "slo: {metric: accuracy, threshold: 0.9, min_samples: " + str(MIN_SAMPLES) + ", eval_set: " + DATASET + "}",
        f"tier: {tier}",
    ]
    if ceiling is not None:
        lines.append(f"escalation: {{signal: label_outside_set, ceiling: {ceiling}}}")
    lines += ["cost:", "  monthly_volume: 10000", "  avg_input_tokens: 100", "  avg_output_tokens: 10"]
    lines += [f"  {line}" for line in cost.splitlines()]
    lines += [f"routing: {{p95_input_tokens: {p95}, max_output_tokens: {max_out}}}", "evidence:"]
    if passing is not None:
        lines.append(f"  passing: {passing}")
    lines.append(f"  failing: [{', '.join(failing)}]")
    return "\n".join(lines) + "\n"


def codeowners(owners: dict[str, str] | None = None, platform: str = "@acme/platform") -> str:
    lines = [f"/policy/tiers.yaml {platform}", f"/.github/ {platform}", f"/src/ {platform}", f"/schemas/ {platform}", f"/CODEOWNERS {platform}",
             f"/evals/datasets/ {platform}"]
    for path, owner in (owners or {TASK: "@acme/team"}).items():
        # each contract file and its evidence folder go to the contract's owner
        lines += [f"/{path} {owner}", f"/evals/{path.rsplit('/', 1)[-1].removesuffix('.yaml')}/ {owner}"]
    return "\n".join(lines) + "\n"


def base(changes: dict[str, str | None] | None = None) -> dict[str, str]:
    """A clean repository: the catalog, one low-impact contract on lite, CODEOWNERS; ``changes`` set (or with None, remove) files."""
    files: dict[str, str | None] = {"policy/tiers.yaml": CATALOG, TASK: contract(), "CODEOWNERS": codeowners()}
    files.update(changes or {})
    return {path: text for path, text in files.items() if text is not None}


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def load(files: dict[str, str]) -> Policy:
    policy = load_policy(MemoryTree(files))
    assert policy.findings == [], [f"{f.file}:{f.line}: {f.id} {f.message}" for f in policy.findings]
    return policy


def found(family: ModuleType, files: dict[str, str], now: dt.datetime = NOW) -> set[str]:
    """The rule ids ``family`` reports on ``files``."""
    return {f.rule.id for f in family.check(Context(load(files), now))}


def own(family: ModuleType) -> set[str]:
    return {rule.id for rule in family.RULES}


# --- evidence, pinned by sha256 ----------------------------------------------------------

LABELS = [("billing", "bug", "howto", "account")[i % 4] for i in range(SAMPLES)]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dataset() -> str:
    return "".join(json.dumps({"id": str(i), "expected": label}) + "\n" for i, label in enumerate(LABELS))


def artifact(tier: str, model: str, correct: int, *, run_at: str = "2026-11-01T09:00:00Z", score: float | None = None,
             records_sha: str | None = None) -> dict[str, str]:
    """An artifact and its records file: the first ``correct`` of the samples answered right."""
    records = "".join(json.dumps({"id": str(i), "expected": label, "output": label if i < correct else "~wrong~"}) + "\n"
                      for i, label in enumerate(LABELS))
    art = f"evals/label/{tier}.yaml"
    rec = f"evals/label/{tier}.records.jsonl"
    text = f"""\
task: label
tier: {tier}
model: {model}
metric: accuracy
score: {correct / SAMPLES if score is None else score}
counts: {{successes: {correct}, total: {SAMPLES}}}
samples: {SAMPLES}
run_at: {run_at}
eval_set: {{path: {DATASET}, sha256: {sha(dataset())}}}
records: {{path: {rec}, sha256: {records_sha or sha(records)}}}
"""
    return {art: text, rec: records}


def with_evidence(contract_text: str, *artifacts: dict[str, str]) -> dict[str, str]:
    files = base({TASK: contract_text})
    files[DATASET] = dataset()
    for art in artifacts:
        files.update(art)
    return files


LITE_PASSES = artifact("lite", "openai/small", SAMPLES)
LITE_FAILS = artifact("lite", "openai/small", 10)
MID_PASSES = artifact("mid", "anthropic/medium", SAMPLES)


def contract_file(**kwargs) -> dict[str, str]:
    return base({TASK: contract(**kwargs)})


# --- the tests ---------------------------------------------------------------------------


def test_the_clean_policy_loads_and_every_family_is_quiet():
    policy = load(base())
    assert policy.catalog is not None and [t.id for t in policy.catalog.tiers] == ["lite", "mid"]
    assert [c.path for c in policy.contracts] == [TASK] and len(policy.valid_contracts()) == 1
    for family in (catalog, identity, feasibility, budget, ownership):
        assert found(family, base()) == set(), family.__name__
    assert found(proof, with_evidence(contract(passing="evals/label/lite.yaml"), LITE_PASSES)) == set()


@pytest.mark.parametrize(
    "files,expected",
    [
        (base(), set()),
        (base({"policy/tiers.yaml": None}), {"TG201"}),
        (base({"policy/tiers.yaml": edit(CATALOG, "input_per_mtok: 0.1", "input_per_mtok: 1.5")}), {"TG202"}),
        (base({"policy/tiers.yaml": edit(CATALOG, "\n        output_per_mtok: 15.0", "\n        output_per_mtok: 15.5")}), {"TG202"}),
        (base({"policy/tiers.yaml": edit(CATALOG, "id: anthropic/medium", "id: openai/small")}), {"TG203"}),
        (base({"policy/tiers.yaml": CATALOG + SECOND_MID}), {"TG204"}),
    ],
    ids=["clean", "missing", "input-over-band", "output-over-band", "model-in-two-tiers", "tier-twice"],
)
def test_catalog(files, expected):
    if "policy/tiers.yaml" not in files:  # a missing catalog is not a load finding
        policy = load_policy(MemoryTree(files))
        assert not policy.catalog_present
    assert found(catalog, files) == expected


def test_catalog_price_at_the_band_is_allowed():
    files = base({"policy/tiers.yaml": edit(CATALOG, "input_per_mtok: 0.1", "input_per_mtok: 1.0")})
    assert found(catalog, files) == set()


@pytest.mark.parametrize(
    "files,expected",
    [
        (base(), set()),
        (contract_file(task="labels"), {"TG103"}),
        (contract_file(tier="mid", ceiling="lite"), {"TG106"}),
        (contract_file(tier="lite", ceiling="mid"), set()),
        (contract_file(tier="huge"), {"TG105"}),
        (contract_file(ceiling="huge"), {"TG105"}),
        (base({TASK: None}), {"TG102"}),
        (base({"policy/tasks/a.yaml": contract()}), {"TG103", "TG104"}),  # a.yaml claims 'label' first
    ],
    ids=["clean", "name-differs", "ceiling-below", "ceiling-above", "unknown-tier", "unknown-ceiling", "none", "twice"],
)
def test_identity(files, expected):
    assert found(identity, files) == expected


def test_identity_no_contracts_only_for_a_complete_load():
    policy = load_policy(MemoryTree(base({TASK: None})), paths=[])
    assert not policy.complete
    assert list(identity.check(Context(policy, NOW))) == []


@pytest.mark.parametrize(
    "files,expected",
    [
        (base(), set()),
        (contract_file(p95=8000), set()),  # exactly 80% of the smallest window (10000)
        (contract_file(p95=8001), {"TG501"}),
        (contract_file(p95=9000, tier="mid"), set()),  # mid's window is larger
        (contract_file(max_out=255), {"TG502"}),
        (contract_file(max_out=512, ceiling="mid"), {"TG502"}),  # fine on lite, too small for mid
        (contract_file(max_out=4097), {"TG503"}),
        (contract_file(max_out=4097, tier="mid"), set()),
    ],
    ids=["clean", "at-guard", "over-guard", "mid-window", "below-budget", "below-ceiling-budget", "over-model", "mid-model"],
)
def test_feasibility(files, expected):
    assert found(feasibility, files) == expected


def test_feasibility_message_names_the_smallest_window():
    [problem] = feasibility.check(Context(load(contract_file(p95=9000)), NOW))
    assert problem.rule is feasibility.CONTEXT_WINDOW and problem.file == TASK and problem.line > 0
    assert "10000" in problem.message and "'lite'" in problem.message


@pytest.mark.parametrize(
    "files,expected",
    [
        (base(), set()),
        (contract_file(impact="high"), {"TG601"}),
        (contract_file(impact="high", ceiling="mid"), set()),
        (contract_file(impact="high", tier="mid"), set()),
        (contract_file(impact="medium"), set()),
        (contract_file(cost="stated_per_call: 1.0"), {"TG604"}),
        (contract_file(cost="stated_per_call: 0.000014"), set()),  # 100 x $0.1/M + 10 x $0.4/M
        (contract_file(ceiling="mid", cost="escalation_rate: 0.99"), {"TG602"}),
    ],
    ids=["clean", "high-on-lowest", "high-can-escalate", "high-on-mid", "medium", "note-drift", "note-right", "past-break-even"],
)
def test_budget(files, expected):
    assert found(budget, files) == expected


def test_budget_inversion_cost_compares_two_tasks():
    damage = "trust_damage: {failure_rate: 0.2, loss_per_failure: 5}"
    high = contract(impact="high", ceiling="mid", cost=damage)
    idle = contract(task="idle", tier="mid", impact="low")
    owners = {TASK: "@acme/team", "policy/tasks/idle.yaml": "@acme/team"}
    files = base({TASK: high, "policy/tasks/idle.yaml": idle, "CODEOWNERS": codeowners(owners)})
    problems = list(budget.check(Context(load(files), NOW)))
    assert [(p.rule.id, p.file) for p in problems] == [("TG603", TASK)]
    assert "'idle'" in problems[0].message
    files["policy/tasks/idle.yaml"] = contract(task="idle", tier="mid", impact="medium")
    assert found(budget, files) == set()


@pytest.mark.parametrize(
    "files,expected",
    [
        (with_evidence(contract(passing="evals/label/lite.yaml"), LITE_PASSES), set()),
        (with_evidence(contract()), {"TG301"}),
        (with_evidence(contract(passing="evals/label/nope.yaml")), {"TG301"}),
        (with_evidence(contract(tier="mid")), {"TG301", "TG401"}),
        (with_evidence(contract(tier="mid", passing="evals/label/mid.yaml"), MID_PASSES), {"TG401"}),
        (with_evidence(contract(tier="mid", passing="evals/label/mid.yaml", failing=("evals/label/lite.yaml",)), MID_PASSES, LITE_FAILS),
         set()),
        # a lite artifact that passes is no proof that lite fails
        (with_evidence(contract(tier="mid", passing="evals/label/mid.yaml", failing=("evals/label/lite.yaml",)), MID_PASSES, LITE_PASSES),
         {"TG310", "TG401"}),
        (with_evidence(contract(tier="mid", passing="evals/label/mid.yaml", failing=("evals/label/nope.yaml",)), MID_PASSES),
         {"TG301", "TG401"}),
        (with_evidence(contract(passing="evals/label/lite.yaml"), artifact("lite", "openai/small", 35)), {"TG309"}),
        (with_evidence(contract(passing="evals/label/lite.yaml"), artifact("lite", "openai/small", SAMPLES, run_at="2026-06-01T00:00:00Z")),
         {"TG312"}),
        (with_evidence(contract(passing="evals/label/lite.yaml"), artifact("lite", "openai/small", SAMPLES, run_at="2026-12-01T00:00:00Z")),
         {"TG311"}),
        (with_evidence(contract(passing="evals/label/lite.yaml"), artifact("lite", "anthropic/medium", SAMPLES)), {"TG305"}),
        (with_evidence(contract(passing="evals/label/lite.yaml"), artifact("lite", "openai/small", SAMPLES, records_sha="ab" * 32)),
         {"TG307"}),
        (with_evidence(contract(passing="evals/label/lite.yaml"), artifact("lite", "openai/small", SAMPLES, score=0.975)), {"TG308"}),
    ],
    ids=["lite-proven", "no-passing", "passing-missing", "mid-nothing", "mid-no-failing", "mid-proven", "failing-passes",
         "failing-missing", "passing-misses", "stale", "future", "model-elsewhere", "records-hash", "score-typed"],
)
def test_proof(files, expected):
    assert found(proof, files) == expected


def test_proof_points_at_the_link():
    files = with_evidence(contract(passing="evals/label/nope.yaml"))
    [problem] = proof.check(Context(load(files), NOW))
    text = files[TASK].splitlines()
    assert problem.file == TASK and text[problem.line - 1].strip() == "passing: evals/label/nope.yaml"
    assert "evals/label/nope.yaml" in problem.message


@pytest.mark.parametrize(
    "files,expected",
    [
        (base(), set()),
        (base({"CODEOWNERS": None}), {"TG701"}),
        (base({"CODEOWNERS": codeowners({TASK: "@acme/other"})}), {"TG702"}),
        (base({"CODEOWNERS": codeowners() + "*.yaml @acme/other\n"}), {"TG702", "TG703"}),  # last match wins
        (base({"CODEOWNERS": codeowners(platform="@acme/someone")}), {"TG703", "TG705"}),  # the eval set too
        # src/ exists here (the gate's code), so it must be the platform's
        (base({"CODEOWNERS": codeowners().replace("/src/ @acme/platform\n", ""), "src/tiergate/__init__.py": "\n"}), {"TG703"}),
        (base({"CODEOWNERS": codeowners() + "!secret @x\n"}), {"TG704"}),
        (base({"CODEOWNERS": None, ".github/CODEOWNERS": codeowners()}), set()),
        (base({".github/CODEOWNERS": "* @acme/nobody\n"}), {"TG702", "TG703", "TG705"}),  # .github/ wins over the root
    ],
    ids=["clean", "missing", "contract-to-other", "catch-all-after", "platform-to-other", "src-unowned", "syntax",
         "github-folder", "github-folder-first"],
)
def test_ownership(files, expected):
    assert found(ownership, files) == expected


def test_ownership_message_names_the_owner_and_the_line():
    files = base({"CODEOWNERS": codeowners({TASK: "@acme/other"})})
    problems = list(ownership.check(Context(load(files), NOW)))
    assert {(p.rule, p.file) for p in problems} == {(ownership.CONTRACT_OWNER, TASK)}  # the file and its evidence folder
    assert any("line 7" in p.message and "to @acme/other" in p.message and "@acme/team" in p.message for p in problems)


@pytest.mark.parametrize("family", [catalog, identity, feasibility, budget, proof, ownership])
def test_families_report_only_declared_rules(family):
    files = with_evidence(contract(tier="mid", ceiling="lite", impact="high", p95=9000, max_out=100, owner="@acme/else",
                                   passing="evals/label/lite.yaml", cost="stated_per_call: 9.0"), LITE_PASSES)
    files["policy/tiers.yaml"] = edit(CATALOG, "input_per_mtok: 0.1", "input_per_mtok: 1.5")
    ids = {f.rule.id for f in family.check(Context(load(files), NOW))}
    assert ids <= set(REGISTRY)
    assert ids - own(family) <= ({r for r in REGISTRY if r.startswith("TG3")} if family is proof else set())


def test_registry_ids_are_unique_sorted_and_documented():
    ids = list(REGISTRY)
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert all(rule.id == key for key, rule in REGISTRY.items())
    names = [rule.name for rule in REGISTRY.values()]
    assert len(names) == len(set(names))
    for rule in REGISTRY.values():
        assert rule.name and rule.summary.strip() and rule.severity in ("error", "warning"), rule.id


def test_registry_holds_every_family_rule():
    for family in rules.AT_REST + rules.ON_CHANGE:
        for rule in family.RULES:
            assert REGISTRY[rule.id] is rule, rule.id
    assert own(catalog) >= {"TG201", "TG202", "TG203", "TG204"}
    assert own(identity) >= {"TG102", "TG103", "TG104", "TG105", "TG106"}
    assert own(proof) >= {"TG301", "TG401"}


@pytest.mark.parametrize(
    "rule_id,name,severity",
    [("TGX1", "bad-id", "error"), ("TG01", "bad-id", "error"), ("tg101", "bad-id", "error"), ("TG1011", "bad-id", "error"),
     ("TG901", "Bad Name", "error"), ("TG901", "trailing-", "warning"), ("TG901", "fine", "info")],
)
def test_malformed_rule_declarations_are_refused(rule_id, name, severity):
    with pytest.raises(ValueError):
        Rule(rule_id, name, severity, "A summary.")


def test_a_well_formed_rule_declaration():
    rule = Rule("TG999", "some-rule", "warning", "A summary.")
    assert (rule.id, rule.name, rule.severity) == ("TG999", "some-rule", "warning")
