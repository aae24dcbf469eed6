"""The command line: parse options, build, run, return an exit code. No policy logic here."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Optional

import click

from tiergate import __version__, codeowners, cost, cost_report, gitio, report, review, review_report, schema
from tiergate.errors import EXIT_CANNOT_DECIDE, EXIT_OK, EXIT_VIOLATION, TierGateError
from tiergate.evidence import write_artifact
from tiergate.export import EXPORTERS, compile_table
from tiergate.findings import RULES
from tiergate.gate import check as run_check
from tiergate.loading import MAX_JSONL_BYTES, LoadError, WorkTree
from tiergate.policy import CATALOG, load_contract, load_policy
from tiergate.policy import Policy
from tiergate.rules import cost as cost_rules
from tiergate.rules import validate as run_validate
from tiergate.rules import validated
from tiergate.rules.context import Context, utc_now

FORMAT = click.Choice(sorted(report.REPORTERS))


def _repo_root(repo: str) -> Path:
    root = Path(repo).resolve()
    if not (root / "policy").is_dir():
        raise TierGateError(f"{root} is not a tiergate repository (no policy/ folder); run from the repository root or pass --repo")
    return root


def _now(as_of: Optional[dt.datetime]) -> dt.datetime:
    if as_of is None:
        return utc_now()
    return dt.datetime.combine(as_of.date(), dt.time(23, 59, 59), tzinfo=dt.timezone.utc)


repo_option = click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False), help="Repository root.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tiergate")
def cli() -> None:
    """Govern which LLM tier each task may use."""


@cli.command()
@repo_option
@click.option("--format", "fmt", type=FORMAT, default="text", show_default=True)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate evidence age as of this date (default: now).")
def validate(repo: str, fmt: str, as_of: Optional[dt.datetime]) -> int:
    """Check the whole repository: catalog, contracts, evidence, CODEOWNERS.

    Exit 0 when clean (warnings allowed), 1 on any error finding, 2 when it cannot run.
    """
    result = run_validate(WorkTree(_repo_root(repo)), _now(as_of))
    click.echo(report.REPORTERS[fmt](result), nl=False)
    return EXIT_OK if result.ok else EXIT_VIOLATION


@cli.command()
@click.option("--base", "base_ref", required=True, help="Base branch or ref, e.g. origin/main.")
@repo_option
@click.option("--format", "fmt", type=FORMAT, default="text", show_default=True)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate evidence age as of this date (default: now).")
def check(base_ref: str, repo: str, fmt: str, as_of: Optional[dt.datetime]) -> int:
    """Judge the change since the merge base with BASE: the merge gate.

    Exit 0 when the change may merge, 1 when it breaks a rule, 2 when it cannot compare
    (unknown ref, shallow clone, not a git repository): the gate fails closed.
    """
    result = run_check(_repo_root(repo), base_ref, _now(as_of))
    click.echo(report.REPORTERS[fmt](result), nl=False)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(report.step_summary("tiergate policy gate", result, result.tier_changes))
        except OSError as err:
            raise TierGateError(f"cannot write GITHUB_STEP_SUMMARY ({summary_path}): {err.strerror}") from None
    return EXIT_OK if result.ok else EXIT_VIOLATION


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(list(EXPORTERS)), required=True, help="What to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
@repo_option
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Validate evidence age as of this date (default: now).")
def export_cmd(fmt: str, output: Optional[str], repo: str, as_of: Optional[dt.datetime]) -> int:
    """Compile the policy into what routers load: json, litellm, csv or markdown.

    Refuses (exit 1, findings on stderr, nothing written) when the policy fails validation.
    """
    root = _repo_root(repo)
    policy, result = validated(WorkTree(root), _now(as_of))
    if not result.ok:
        click.echo(report.text(result), err=True, nl=False)
        click.echo("tiergate: export refused: the policy fails `tiergate validate`; fix the errors above first", err=True)
        return EXIT_VIOLATION
    text = EXPORTERS[fmt](compile_table(policy, gitio.head_commit(root)))
    if output is None:
        click.echo(text, nl=False)
    else:
        _atomic_write(Path(output), text)
        click.echo(f"wrote {output}", err=True)
    return EXIT_OK


@cli.group("eval")
def eval_group() -> None:
    """Eval artifacts."""


@eval_group.command("record")
@click.option("--task", required=True, help="Task id (policy/tasks/<task>.yaml).")
@click.option("--tier", required=True, help="Tier the run used.")
@click.option("--model", required=True, help="Exact model id, as listed in the tier.")
@click.option("--records", "records_file", required=True, type=click.Path(dir_okay=False), help="JSONL, one record per sample.")
@click.option("--run-at", help="ISO 8601 time of the run with a timezone (default: now).")
@repo_option
def record(task: str, tier: str, model: str, records_file: str, run_at: Optional[str], repo: str) -> int:
    """Score a run's records with the task's SLO metric and commit them as an artifact."""
    root = _repo_root(repo)
    when = _parse_run_at(run_at)
    policy = load_policy(WorkTree(root), paths=[])
    loaded = load_contract(policy, f"policy/tasks/{task}.yaml") if _is_task_id(task) else None
    if loaded is None or policy.catalog is None or loaded.contract is None:
        raise TierGateError(_load_failure(policy, task))
    raw = _read_input(records_file)
    path = write_artifact(root, policy.evidence, policy.catalog, loaded.contract, tier, model, raw, records_file, when)
    click.echo(path)
    return EXIT_OK


def _is_task_id(task: str) -> bool:
    return bool(task) and all(c.islower() or c.isdigit() or c == "-" for c in task)


def _load_failure(policy: Any, task: str) -> str:
    if not policy.findings:
        return f"task '{task}' is not a valid task id (lowercase letters, digits and dashes)"
    first = policy.findings[0]
    return f"{first.file}:{first.line}: {first.message} ({len(policy.findings)} problem(s); run `tiergate validate`)"


def _parse_run_at(value: Optional[str]) -> dt.datetime:
    if value is None:
        return utc_now().replace(microsecond=0)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise TierGateError(f"--run-at '{value}' is not ISO 8601, e.g. 2026-10-02T09:00:00Z") from None
    if when.tzinfo is None:
        raise TierGateError(f"--run-at '{value}' needs a timezone, e.g. 2026-10-02T09:00:00Z")
    when = when.astimezone(dt.timezone.utc)
    if when > utc_now():
        raise TierGateError(f"--run-at '{value}' is in the future")
    return when


def _read_input(path: str) -> bytes:
    try:
        if os.path.getsize(path) > MAX_JSONL_BYTES:
            raise TierGateError(f"{path} is over the {MAX_JSONL_BYTES}-byte limit")
        return Path(path).read_bytes()
    except OSError as err:
        raise TierGateError(f"cannot read {path}: {err.strerror}") from None


@cli.command("codeowners")
@click.option("--write", is_flag=True, help="Update the managed block in CODEOWNERS (created if absent).")
@repo_option
def codeowners_cmd(write: bool, repo: str) -> int:
    """Print (or --write) the CODEOWNERS block that gives each contract to its owner."""
    root = _repo_root(repo)
    policy = _usable_policy(root)
    assert policy.catalog is not None
    target = next((p for p in codeowners.LOCATIONS if (root / p).exists()), "CODEOWNERS")
    owned = [(doc.path, contract.owner) for contract, doc in policy.valid_contracts()]
    block = codeowners.managed_block(policy.catalog.platform_owner, target, owned)
    if not write:
        click.echo(block, nl=False)
        return EXIT_OK
    old = (root / target).read_text(encoding="utf-8") if (root / target).exists() else ""
    try:
        new = codeowners.replace_block(old, block)
    except codeowners.CodeownersError as err:
        raise TierGateError(f"{target}:{err.line}: {err}") from None
    if new == old:
        click.echo(f"{target} is up to date")
    else:
        _atomic_write(root / target, new)
        click.echo(f"updated {target}")
    return EXIT_OK


def _usable_policy(root: Path) -> Policy:
    """Load everything; a broken catalog stops the command, a broken contract is skipped aloud."""
    policy = load_policy(WorkTree(root))
    if policy.catalog is None:
        raise TierGateError(f"{CATALOG} does not load; run `tiergate validate` and fix it first")
    for problem in policy.findings:
        click.echo(f"tiergate: skipping {problem.file}: {problem.message}", err=True)
    return policy


@cli.command("cost")
@repo_option
@click.option("--format", "fmt", type=click.Choice(sorted(cost_report.RENDERERS)), default="table", show_default=True)
@click.option("--task", "task_id", help="Only this task, with every cost term spelled out.")
def cost_cmd(repo: str, fmt: str, task_id: Optional[str]) -> int:
    """What each task really costs: all-in per call and per success, cascade break-even, monthly totals."""
    policy = _usable_policy(_repo_root(repo))
    files = {c.task: doc.path for c, doc in policy.valid_contracts()}
    if task_id is not None and task_id not in files:
        raise TierGateError(f"no valid contract for task '{task_id}'; known tasks: {', '.join(sorted(files)) or 'none'}")
    result = cost.build(policy, only=task_id)
    findings = sorted((f for f in cost_rules.check(Context(policy, utc_now())) if task_id is None or f.file == files[task_id]),
                      key=lambda f: f.sort_key())
    click.echo(cost_report.RENDERERS[fmt](result, findings, task_id is not None), nl=False)
    return EXIT_OK


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tiergate-tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise TierGateError(f"cannot write {path}: {err.strerror}") from None


@cli.command("schema")
@click.option("--write", is_flag=True, help="Regenerate schemas/ from the models.")
@repo_option
def schema_cmd(write: bool, repo: str) -> int:
    """Check (or --write) the JSON Schemas in schemas/ that editors use."""
    root = Path(repo).resolve()
    if write:
        for name in schema.write(root):
            click.echo(f"wrote {name}")
        return EXIT_OK
    stale = schema.stale(root)
    for name in stale:
        click.echo(f"{name} is stale; run `tiergate schema --write`", err=True)
    return EXIT_VIOLATION if stale else EXIT_OK


@cli.group("review")
def review_group() -> None:
    """The quarterly review: what is due, and the review issue."""


def _as_of_date(as_of: Optional[dt.datetime]) -> dt.date:
    return as_of.date() if as_of is not None else utc_now().date()


def _due(repo: str, as_of: Optional[dt.datetime]) -> tuple[list[review.DueItem], int, dt.date]:
    policy = _usable_policy(_repo_root(repo))
    day = _as_of_date(as_of)
    return review.due_list(policy, day), len(policy.valid_contracts()), day


@review_group.command("due")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Review date (default: today, UTC).")
@repo_option
@click.option("--format", "fmt", type=click.Choice(list(review_report.DUE_RENDERERS)), default="table", show_default=True)
def review_due(as_of: Optional[dt.datetime], repo: str, fmt: str) -> int:
    """List every assignment due for re-evaluation, with every reason and the cheaper tier to re-test.

    Exit 0 whether or not anything is due; the last line says how many.
    """
    items, total, day = _due(repo, as_of)
    click.echo(review_report.DUE_RENDERERS[fmt](items, total, day), nl=False)
    return EXIT_OK


@review_group.command("open-issue")
@click.option("--github-repo", help="OWNER/NAME (default: GITHUB_REPOSITORY).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Review date (default: today, UTC); names the quarter.")
@click.option("--dry-run", is_flag=True, help="Print the title and body; call nothing.")
@click.option("--update-only", is_flag=True, help="Update this quarter's issue if it exists; never open one.")
@repo_option
def review_open_issue(github_repo: Optional[str], as_of: Optional[dt.datetime], dry_run: bool, update_only: bool, repo: str) -> int:
    """Open this quarter's review issue, or update it (ticked boxes kept, unchanged bodies not re-sent).

    Token from GITHUB_TOKEN, API root from GITHUB_API_URL (default https://api.github.com).
    """
    items, total, day = _due(repo, as_of)
    quarter = review.quarter(day)
    title = review_report.title(quarter)

    def body_for(keep: set[str]) -> str:
        return review_report.issue_body(items, total, day, quarter, keep)

    if dry_run:
        click.echo(f"{title}\n\n{body_for(set())}", nl=False)
        return EXIT_OK
    from tiergate import github, review_issue  # PyGithub and its crypto stack load only for the one command that calls GitHub

    environ = dict(os.environ)
    tracker = github.GitHubIssues(github.repository_from(github_repo, environ), github.token_from_env(environ), github.api_from_env(environ))
    outcome = review_issue.sync(tracker, title, review_report.marker(quarter), body_for, may_create=bool(items) and not update_only)
    if outcome.issue is None:
        why = "nothing is due" if not items else "--update-only"
        click.echo(f"no {title} issue exists and none was opened ({why}); {len(items)} of {total} assignment(s) due")
    else:
        click.echo(f"{outcome.action} #{outcome.issue.number} {outcome.issue.url} ({title}: {len(items)} of {total} due)")
    return EXIT_OK


@cli.command("rules")
def rules_cmd() -> int:
    """List every rule id as a Markdown table."""
    click.echo("| id | name | severity | what it means |\n|---|---|---|---|")
    for rule in RULES.values():
        click.echo(f"| {rule.id} | {rule.name} | {rule.severity} | {rule.summary} |")
    return EXIT_OK


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: map every outcome to 0/1/2 and one clear line; never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="tiergate", standalone_mode=False)
    except click.ClickException as err:
        err.show()
        code = EXIT_CANNOT_DECIDE
    except click.exceptions.Abort:
        click.echo("tiergate: aborted", err=True)
        code = EXIT_CANNOT_DECIDE
    except TierGateError as err:
        click.echo(f"tiergate: error: {err}", err=True)
        code = err.exit_code
    except LoadError as err:
        click.echo(f"tiergate: error: {err.message}", err=True)
        code = EXIT_CANNOT_DECIDE
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("TIERGATE_DEBUG"):
            raise
        click.echo(f"tiergate: internal error: {type(err).__name__}: {err} (set TIERGATE_DEBUG=1 for details and report it)", err=True)
        code = EXIT_CANNOT_DECIDE
    sys.exit(code if isinstance(code, int) else EXIT_OK)
