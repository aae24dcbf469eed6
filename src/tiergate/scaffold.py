"""``tiergate init``: a governance repository that passes ``tiergate validate`` the moment it exists.

A catalog of three tiers (current models and prices as of ``CATALOG_REVISED``), one example
contract on the lowest tier with a small eval set and a passing artifact recorded by the real
``eval record`` code, the CODEOWNERS managed block, ``schemas/``, a ``.gitattributes`` that
keeps evidence byte-exact, and workflows that use the tiergate action pinned to this version.
Nothing that exists is overwritten: the files are checked first and the command refuses,
naming them, before it writes anything.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from tiergate import REPOSITORY, __version__, codeowners, schema
from tiergate.errors import TierGateError
from tiergate.evidence.record import write_artifact
from tiergate.layout import CATALOG, DATASETS, DEFAULT_CODEOWNERS, contract_path
from tiergate.loading import WorkTree
from tiergate.models import OWNER_PATTERN
from tiergate.policy import load_contract, load_policy
from tiergate.writes import write_new

ACTION = REPOSITORY  # the repository that publishes the composite action (action.yml)
CATALOG_REVISED = "2026-09-15"
EXAMPLE_TASK = "intent-classification"
EXAMPLE_LABELS = ("billing", "bug", "howto", "account")
EXAMPLE_SAMPLES = 40
EXAMPLE_CORRECT = 38  # 0.95 against a 0.90 threshold
GITATTRIBUTES = """# Evidence is pinned by sha256, byte for byte: git must never convert line endings in it.
evals/** -text
"""

# (price band, min completion tokens, models: id, $/M in, $/M out, context window, max output)
TIERS = (
    ((1.00, 5.00), 256, (("openai/gpt-5-nano", 0.05, 0.40, 400000, 128000), ("gemini/gemini-2.5-flash-lite", 0.10, 0.40, 1048576, 65536))),
    ((3.00, 15.00), 1024, (("anthropic/claude-sonnet-4-5", 3.00, 15.00, 200000, 64000), ("openai/gpt-4.1", 2.00, 8.00, 1047576, 32768))),
    ((15.00, 75.00), 4096, (("anthropic/claude-opus-4-1", 15.00, 75.00, 200000, 32000), ("gemini/gemini-2.5-pro", 1.25, 10.00, 1048576, 65536))),
)


@dataclass(frozen=True)
class Options:
    platform_owner: str = "@your-org/ml-platform"
    owner: str = ""  # the example contract's owner; empty: the platform owner
    tiers: tuple[str, str, str] = ("lite", "mid", "frontier")
    action: str = f"{ACTION}@v{__version__}"


def parse_tiers(text: str) -> tuple[str, str, str]:
    names = tuple(part.strip() for part in text.split(","))
    if len(names) != 3 or len(set(names)) != 3 or not all(n and n.replace("-", "").isalnum() and n == n.lower() for n in names):
        raise TierGateError(f"--tiers '{text}' must be three distinct lowercase ids, cheapest first, e.g. lite,mid,frontier")
    return names  # type: ignore[return-value]


def _check_owner(owner: str, option: str) -> None:
    if not re.match(OWNER_PATTERN, owner):
        raise TierGateError(f"{option} '{owner}' is not a GitHub @user, @org/team or an e-mail address")


def _catalog(opts: Options) -> str:
    lines = ["# yaml-language-server: $schema=../schemas/catalog.schema.json",
             "# The tier catalog, cheapest first: the first tier is every task's default. Prices are USD per",
             f"# million tokens as of {CATALOG_REVISED}; update them (and each tier's `revised`) from your providers.",
             f'platform_owner: "{opts.platform_owner}"', "defaults:", "  review_cadence_days: 90", "  max_evidence_age_days: 90",
             "tiers:"]
    for name, (band, floor, models) in zip(opts.tiers, TIERS):
        lines += [f"  - id: {name}", f"    revised: {CATALOG_REVISED}",
                  f"    price_band: {{max_input_per_mtok: {band[0]:.2f}, max_output_per_mtok: {band[1]:.2f}}}",
                  f"    min_completion_tokens: {floor}", "    models:"]
        for model_id, price_in, price_out, window, max_out in models:
            lines += [f"      - id: {model_id}", f"        input_per_mtok: {price_in:.2f}", f"        output_per_mtok: {price_out:.2f}",
                      f"        context_window: {window}", f"        max_output_tokens: {max_out}"]
    return "\n".join(lines) + "\n"


def _contract(opts: Options, today: dt.date, passing: str) -> str:
    owner = opts.owner or opts.platform_owner
    return f"""# yaml-language-server: $schema=../../schemas/contract.schema.json
task: {EXAMPLE_TASK}
description: "Classify one customer support message. Return exactly one token: {' | '.join(EXAMPLE_LABELS)}."
class: pattern-matching
owner: "{owner}"
impact: medium
slo:
  metric: accuracy
  threshold: 0.90
  min_samples: {EXAMPLE_SAMPLES}
  eval_set: {DATASETS}/{EXAMPLE_TASK}.jsonl
tier: {opts.tiers[0]}
cost:
  monthly_volume: 100000
  avg_input_tokens: 120
  avg_output_tokens: 20
  note: "An example: replace the eval set with real labelled messages and record a real run."
routing:
  p95_input_tokens: 600
  max_output_tokens: 1024
  session_pinning: false
evidence:
  passing: {passing}
  failing: []
reviewed: {today.isoformat()}
"""


def _dataset() -> tuple[str, str]:
    """The example eval set and a run's records (deterministic), as JSON Lines."""
    rng = random.Random(EXAMPLE_TASK)
    rows = [{"id": f"{EXAMPLE_TASK}-{i:04d}", "expected": rng.choice(EXAMPLE_LABELS), "input": f"example support message #{i}"}
            for i in range(1, EXAMPLE_SAMPLES + 1)]
    records = [{"id": r["id"], "output": r["expected"] if i < EXAMPLE_CORRECT else "other"} for i, r in enumerate(rows)]
    dump = lambda items: "".join(json.dumps(item, sort_keys=True) + "\n" for item in items)  # noqa: E731
    return dump(rows), dump(records)


def _job(uses: str, command: str) -> str:
    """A job's body that checks the repository out (read only) and runs the pinned action's ``command``."""
    return f"""    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: {uses}
        with:
          command: {command}
"""


def _workflows(opts: Options) -> dict[str, str]:
    uses = opts.action
    gate = f"""# The merge gate: make the "policy-gate" check required in branch protection, with code-owner review.
# tiergate runs from the action pinned below, never from the pull request; the checkout is only read.
# cost-comment posts the cost diff as one sticky pull-request comment: the only job that may write, and only
# comments (a fork's pull request gets a read-only token: the step warns and passes). It is not required.
name: policy-gate
on:
  pull_request:
permissions:
  contents: read
concurrency:
  group: policy-gate-${{{{ github.event.pull_request.number }}}}
  cancel-in-progress: true
jobs:
  policy-gate:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the gate compares with the merge base
          persist-credentials: false
      - uses: {uses}
        with:
          command: check
  cost-comment:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: {uses}
        with:
          command: comment
        env:
          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
"""
    validate = f"""name: validate policy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  validate:
{_job(uses, "validate")}"""
    review = f"""# Opens this quarter's review issue, or updates it: any run inside a quarter opens a missing one.
name: quarterly tier review
on:
  schedule:
    - cron: "17 6 1 1,4,7,10 *"
    - cron: "43 7 15 * *"
  workflow_dispatch:
permissions:
  issues: write
  contents: read
jobs:
  review:
{_job(uses, "review")}        env:
          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
"""
    return {".github/workflows/policy-gate.yml": gate, ".github/workflows/validate.yml": validate,
            ".github/workflows/quarterly-review.yml": review}


ACTION_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?@[A-Za-z0-9_.-]+$")


def init(root: Path, opts: Options, now: dt.datetime) -> list[str]:
    """Write the scaffold into ``root``; the repository-relative paths written, in order."""
    if not ACTION_REF.match(opts.action):
        raise TierGateError(f"--action '{opts.action}' must be OWNER/NAME@REF (for example {ACTION}@v{__version__})")
    _check_owner(opts.platform_owner, "--platform-owner")
    if opts.owner:
        _check_owner(opts.owner, "--owner")
    run_at = now.replace(microsecond=0)
    stem = f"{run_at.strftime('%Y%m%dT%H%M%SZ')}-{opts.tiers[0]}-gpt-5-nano"
    artifact, records_path = f"evals/{EXAMPLE_TASK}/{stem}.yaml", f"evals/{EXAMPLE_TASK}/{stem}.records.jsonl"
    dataset, records = _dataset()
    files: dict[str, str] = {
        CATALOG: _catalog(opts),
        contract_path(EXAMPLE_TASK): _contract(opts, run_at.date(), artifact),
        f"{DATASETS}/{EXAMPLE_TASK}.jsonl": dataset,
        ".gitattributes": GITATTRIBUTES,
        **_workflows(opts),
    }
    owner = opts.owner or opts.platform_owner
    owned = [(contract_path(EXAMPLE_TASK), owner)]
    sets = [(f"{DATASETS}/{EXAMPLE_TASK}.jsonl", owner)]
    present = {".github", "schemas", DATASETS, "policy/tiers.yaml"}  # what the scaffold itself creates
    files[DEFAULT_CODEOWNERS] = ("# Code owners: reviews from these owners are required (branch protection).\n"
                                 "# The managed block is regenerated by `tiergate codeowners --write`.\n\n"
                                 + codeowners.managed_block(opts.platform_owner, DEFAULT_CODEOWNERS, owned, sets, present.__contains__))
    planned = list(files) + [artifact, records_path] + [f"schemas/{name}" for name in schema.SCHEMAS]
    existing = sorted(p for p in planned if (root / p).exists() or (root / p).is_symlink())
    if existing:
        raise TierGateError(f"{root} already has {', '.join(existing)}; tiergate init never overwrites: move them away or init elsewhere")
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        write_new(root / rel, text.encode("utf-8"), inside=root.resolve())
    written = list(files)
    written += schema.write(root)
    policy = load_policy(WorkTree(root), paths=[])
    loaded = load_contract(policy, contract_path(EXAMPLE_TASK))
    assert policy.catalog is not None and loaded.contract is not None, "the scaffold's own catalog and contract must load"
    made = write_artifact(root, policy.evidence, policy.catalog, loaded.contract, opts.tiers[0], "openai/gpt-5-nano",
                          records.encode("utf-8"), "example run", run_at)
    assert made == artifact, (made, artifact)
    return written + [records_path, artifact]
