"""The command line: options -> one call -> render -> exit code. No policy logic here."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import click

from importlib import import_module
from typing import TYPE_CHECKING

from tiergate import __version__
from tiergate.clock import utc_now
from tiergate.errors import EXIT_CANNOT_DECIDE, EXIT_OK, EXIT_VIOLATION, TierGateError
from tiergate.layout import CATALOG, POLICY
from tiergate.loading import LoadError, WorkTree
from tiergate.report import Formats, emit

if TYPE_CHECKING:
    from tiergate.policy import Policy
    from tiergate.review.due import DueView

# Each command's renderers, by "module:attribute"; loaded only when that command runs (or shows its
# help), so `tiergate --version` and `--help` import click and nothing heavy.
VERDICT = "tiergate.report.verdict:FORMATS"
EXPORTS = "tiergate.export:FORMATS"
COSTS = "tiergate.report.costs:FORMATS"
DUE = "tiergate.review.render:FORMATS"
RUN = "tiergate.runs.render:OUTCOME"
PROFILE = "tiergate.runs.render:PROFILE"
AUDIT = "tiergate.audit.render:FORMATS"


def formats(name: str) -> Formats[Any]:
    module, _, attribute = name.partition(":")
    return getattr(import_module(module), attribute)  # type: ignore[no-any-return]


class _FormatChoice(click.Choice):
    """``click.Choice`` over a registry's format names, looked up when first needed."""

    def __init__(self, registry: str) -> None:
        self.registry = registry
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(formats(self.registry).names)

    @choices.setter
    def choices(self, value: Any) -> None:
        pass




def _repo_root(repo: str) -> Path:
    root = Path(repo).resolve()
    if not (root / POLICY).is_dir():
        raise TierGateError(f"{root} is not a tiergate repository (no {POLICY}/ folder); run from the repository root or pass --repo")
    return root


def _end_of(as_of: Optional[dt.datetime]) -> dt.datetime:
    """The moment evidence is judged at: now, or the last second of the --as-of day (UTC)."""
    if as_of is None:
        return utc_now()
    return dt.datetime.combine(as_of.date(), dt.time(23, 59, 59), tzinfo=dt.timezone.utc)


def _day(as_of: Optional[dt.datetime]) -> dt.date:
    return as_of.date() if as_of is not None else utc_now().date()


def repo_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False), help="Repository root.")(f)


def as_of_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help=help_text)


def format_option(registry: str, default: Optional[str] = "text") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` with the names the registry renders (the same names in every command)."""
    if default is None:  # click 8.2+ takes an explicit default=None as a value, which would satisfy required
        return click.option("--format", "fmt", type=_FormatChoice(registry), required=True, help="Output format.")
    return click.option("--format", "fmt", type=_FormatChoice(registry), default=default, show_default=True, help="Output format.")


def output_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tiergate")
def cli() -> None:
    """Govern which LLM tier each task may use."""


@cli.command()
@repo_option
@format_option(VERDICT)
@as_of_option("Evaluate evidence age as of this date (default: now).")
def validate(repo: str, fmt: str, as_of: Optional[dt.datetime]) -> int:
    """Check the whole repository: catalog, contracts, evidence, CODEOWNERS.

    Exit 0 when clean (warnings allowed), 1 on any error finding, 2 when it cannot run.
    """
    from tiergate import engine

    _, result = engine.validate(WorkTree(_repo_root(repo)), _end_of(as_of))
    emit(formats(VERDICT), fmt, result)
    return EXIT_OK if result.ok else EXIT_VIOLATION


@cli.command()
@click.option("--base", "base_ref", required=True, help="Base branch or ref, e.g. origin/main.")
@repo_option
@format_option(VERDICT)
@as_of_option("Evaluate evidence age as of this date (default: now).")
def check(base_ref: str, repo: str, fmt: str, as_of: Optional[dt.datetime]) -> int:
    """Judge the change since the merge base with BASE: the merge gate.

    Exit 0 when the change may merge, 1 when it breaks a rule, 2 when it cannot compare
    (unknown ref, shallow clone, not a git repository): the gate fails closed.
    """
    from tiergate import engine

    result = engine.check(_repo_root(repo), base_ref, _end_of(as_of))
    emit(formats(VERDICT), fmt, result)
    return EXIT_OK if result.ok else EXIT_VIOLATION


@cli.command("comment")
@click.option("--base", "base_ref", required=True, help="Base branch or ref, as for check.")
@click.option("--pr", "pr_number", type=click.IntRange(min=1), help="Pull request number (default: from GITHUB_EVENT_PATH).")
@click.option("--github-repo", help="OWNER/NAME (default: GITHUB_REPOSITORY).")
@click.option("--dry-run", is_flag=True, help="Print the comment; call nothing.")
@repo_option
@as_of_option("Evaluate evidence age as of this date (default: now).")
def comment_cmd(base_ref: str, pr_number: Optional[int], github_repo: Optional[str], dry_run: bool, repo: str,
                as_of: Optional[dt.datetime]) -> int:
    """Post the cost diff and the gate's verdict as the pull request's one sticky comment, or update it.

    Exit 0 whatever the verdict (the check is the gate) and when the token may not write (a
    fork's pull request): a warning then. Token from GITHUB_TOKEN, API root from GITHUB_API_URL.
    """
    from tiergate.pr.comment import comment

    text, outcome = comment(_repo_root(repo), base_ref, _end_of(as_of), pr_number, github_repo, dry_run, os.environ)
    click.echo(text, nl=False)
    if outcome.warning:
        click.echo(f"tiergate: warning: {outcome.warning}", err=True)
    return EXIT_OK


@cli.command("export")
@format_option(EXPORTS, default=None)
@output_option
@repo_option
@as_of_option("Validate evidence age as of this date (default: now).")
def export_cmd(fmt: str, output: Optional[str], repo: str, as_of: Optional[dt.datetime]) -> int:
    """Compile the policy into what routers load: json, litellm, csv or markdown.

    Refuses (exit 1, findings on stderr, nothing written) when the policy fails validation.
    """
    from tiergate import engine, gitio
    from tiergate.export import compile_table

    root = _repo_root(repo)
    policy, result = engine.validate(WorkTree(root), _end_of(as_of))
    if not result.ok:
        emit(formats(VERDICT), "text", result, err=True)
        click.echo("tiergate: export refused: the policy fails `tiergate validate`; fix the errors above first", err=True)
        return EXIT_VIOLATION
    _echo_or_write(formats(EXPORTS).render(fmt, compile_table(policy, gitio.head_commit(root))), output)
    return EXIT_OK


def _echo_or_write(text: str, output: Optional[str]) -> None:
    """``text`` on stdout, or into ``output`` through the one safe writer (never through a link; replaced in one step)."""
    if output is None:
        click.echo(text, nl=False)
        return
    from tiergate.writes import atomic_write

    atomic_write(Path(output), text)
    click.echo(f"wrote {output}", err=True)


@cli.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--platform-owner", default="@your-org/ml-platform", show_default=True, help="Owns the catalog, the gate and CODEOWNERS.")
@click.option("--owner", default="", help="Owner of the example contract (default: the platform owner).")
@click.option("--tiers", default="lite,mid,frontier", show_default=True, help="Names of the three tiers, cheapest first.")
@click.option("--action", default=None, help="The tiergate action the workflows use, OWNER/NAME@REF (default: this version's release).")
def init_cmd(directory: str, platform_owner: str, owner: str, tiers: str, action: Optional[str]) -> int:
    """Start a governance repository in DIRECTORY: catalog, an example contract with evidence, CODEOWNERS, workflows.

    Never overwrites: if any file it would write exists, it names them and writes nothing.
    """
    from tiergate import scaffold

    opts = scaffold.Options(platform_owner, owner, scaffold.parse_tiers(tiers), action or scaffold.Options().action)
    root = Path(directory).absolute()  # the scaffold checks what it wrote from the repository root
    for rel in scaffold.init(root, opts, utc_now()):
        click.echo(f"wrote {rel}")
    click.echo(f"next: cd {directory} && tiergate validate; edit policy/tiers.yaml and the example contract, then commit", err=True)
    return EXIT_OK


@cli.group("eval")
def eval_group() -> None:
    """Eval artifacts: record a run, run one, profile the tiers, import a log."""


@eval_group.command("record")
@click.option("--task", required=True, help="Task id (policy/tasks/<task>.yaml).")
@click.option("--tier", required=True, help="Tier the run used.")
@click.option("--model", required=True, help="Exact model id, as listed in the tier.")
@click.option("--records", "records_file", required=True, type=click.Path(dir_okay=False), help="JSONL, one record per sample.")
@click.option("--run-at", help="ISO 8601 time of the run with a timezone (default: now).")
@click.option("--link", type=click.Choice(["passing", "failing"]), help="Also link the artifact in the contract's evidence.")
@repo_option
def record(task: str, tier: str, model: str, records_file: str, run_at: Optional[str], link: Optional[str], repo: str) -> int:
    """Score a run's records with the task's SLO metric and commit them as an artifact.

    Prints the artifact's path on stdout, and the score against the SLO on stderr.
    """
    from tiergate import engine

    done = engine.record(_repo_root(repo), task, tier, model, records_file, _parse_run_at(run_at), link)
    click.echo(done.path)
    click.echo(f"{done.metric} {done.score:g} on {done.samples} samples against the SLO threshold {done.threshold:g}: {done.verdict}"
               + (f"; linked as {done.linked} evidence in policy/tasks/{task}.yaml" if done.linked else ""), err=True)
    return EXIT_OK


@eval_group.command("run")
@click.option("--task", required=True, help="Task id (policy/tasks/<task>.yaml); its prompt block says how to ask.")
@click.option("--tier", required=True, help="Tier to run on.")
@click.option("--model", help="A model of the tier (default: its primary, the one routers call).")
@click.option("--limit", type=int, help="Only the first N samples: a trial, kept in .tiergate/trials/, never evidence.")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Calls in flight at once.")
@click.option("--no-cache", is_flag=True, help="Ask again even for answers in .tiergate/cache/ (the new answers replace them).")
@click.option("--link", type=click.Choice(["passing", "failing"]), help="Also link the artifact in the contract's evidence.")
@repo_option
@format_option(RUN)
def eval_run(task: str, tier: str, model: Optional[str], limit: Optional[int], concurrency: int, no_cache: bool, link: Optional[str],
             repo: str, fmt: str) -> int:
    """Run the task's SLO eval on a tier's model through LiteLLM, score it and record the artifact.

    Keys come from the environment (OPENAI_API_KEY, ... or the catalog's os.environ/NAME references).
    """
    from tiergate.runs.execute import Options, run

    emit(formats(RUN), fmt, run(_repo_root(repo), Options(task, tier, model, limit, concurrency, not no_cache, link), utc_now()))
    return EXIT_OK


@eval_group.command("profile")
@click.option("--task", required=True, help="Task id.")
@click.option("--tiers", help="Comma-separated tiers (default: from the lowest up to the contract's tier).")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Calls in flight at once.")
@click.option("--no-cache", is_flag=True, help="Ask again even for answers in .tiergate/cache/ (the new answers replace them).")
@click.option("--link", is_flag=True, help="Record every run; set the tier, its passing run and the failures below it in the contract.")
@repo_option
@format_option(PROFILE)
def eval_profile(task: str, tiers: Optional[str], concurrency: int, no_cache: bool, link: bool, repo: str, fmt: str) -> int:
    """Run the eval set on each tier, cheapest first: score, bound, verdict, cost, latency, and the cheapest tier that passes."""
    from tiergate.runs.profile import profile

    emit(formats(PROFILE), fmt, profile(_repo_root(repo), task, tiers, concurrency, utc_now(), link, not no_cache))
    return EXIT_OK


@eval_group.command("import")
@click.option("--from", "tool", required=True, type=click.Choice(["inspect", "promptfoo"]), help="The tool that wrote LOG.")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--task", required=True, help="Task id.")
@click.option("--tier", required=True, help="Tier the run used; the log's model must be one of its models.")
@click.option("--model", help="Optional: the model you expect; refused unless it is the one the log names.")
@click.option("--scorer", help="Inspect: the scorer to read, when the log has several.")
@click.option("--run-at", help="ISO 8601 time of the run, for a log that states none (a log's own time is never changed).")
@click.option("--link", type=click.Choice(["passing", "failing"]), help="Also link the artifact in the contract's evidence.")
@repo_option
@format_option(RUN)
def eval_import(tool: str, log: str, task: str, tier: str, model: Optional[str], scorer: Optional[str], run_at: Optional[str],
                link: Optional[str], repo: str, fmt: str) -> int:
    """Turn an Inspect AI log or a promptfoo results file into records, then record them exactly like `eval record`."""
    from tiergate.runs.imports import Request, import_log

    when = _parse_run_at(run_at) if run_at else None
    emit(formats(RUN), fmt, import_log(_repo_root(repo), Request(tool, log, task, tier, model, scorer, when, link), utc_now()))
    return EXIT_OK


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


def _usable_policy(root: Path) -> "Policy":
    """Load everything; a broken catalog stops the command, a broken contract is skipped aloud."""
    from tiergate.policy import load_policy

    policy = load_policy(WorkTree(root))
    if policy.catalog is None:
        raise TierGateError(f"{CATALOG} does not load; run `tiergate validate` and fix it first")
    for problem in policy.findings:
        click.echo(f"tiergate: skipping {problem.file}: {problem.message}", err=True)
    return policy


@cli.command("codeowners")
@click.option("--write", is_flag=True, help="Update the managed block in CODEOWNERS (created if absent).")
@repo_option
def codeowners_cmd(write: bool, repo: str) -> int:
    """Print (or --write) the CODEOWNERS block that gives each contract to its owner."""
    from tiergate import engine

    root = _repo_root(repo)
    policy = _usable_policy(root)
    if not write:
        click.echo(engine.codeowners_block(root, policy)[1], nl=False)
        return EXIT_OK
    target, changed = engine.write_codeowners(root, policy)
    click.echo(f"updated {target}" if changed else f"{target} is up to date")
    return EXIT_OK


@cli.command("cost")
@repo_option
@format_option(COSTS)
@output_option
@click.option("--task", "task_id", help="Only this task, with every cost term spelled out.")
def cost_cmd(repo: str, fmt: str, output: Optional[str], task_id: Optional[str]) -> int:
    """What each task really costs: all-in per call and per success, cascade break-even, monthly totals.

    --format html is one self-contained page (tables and SVG charts, no scripts, nothing fetched); -o FILE writes
    any format to FILE atomically.
    """
    from tiergate import engine

    view = engine.cost_view(_usable_policy(_repo_root(repo)), utc_now(), task_id)
    if output is None:
        emit(formats(COSTS), fmt, view)
    else:
        _echo_or_write(formats(COSTS).render(fmt, view), output)
    return EXIT_OK


@cli.command("schema")
@click.option("--write", is_flag=True, help="Regenerate schemas/ from the models.")
@repo_option
def schema_cmd(write: bool, repo: str) -> int:
    """Check (or --write) the JSON Schemas in schemas/ that editors use."""
    from tiergate import schema

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


def _window_start(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def _window_end(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """``--until`` names the last day audited (or, with a time, the moment the window ends)."""
    if value is None:
        return None
    end = value.replace(tzinfo=dt.timezone.utc)
    return end + dt.timedelta(days=1) if end.time() == dt.time(0) else end


WINDOW = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])


def audit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--since/--until: the audited window in UTC, since inclusive, until the last day included."""
    f = click.option("--until", type=WINDOW, help="Last day audited, YYYY-MM-DD (UTC; or a YYYY-MM-DDTHH:MM:SS end).")(f)
    return click.option("--since", type=WINDOW, help="First day audited, YYYY-MM-DD (UTC).")(f)


def _due(repo: str, as_of: Optional[dt.datetime], with_spend: bool = False, audit: Optional[str] = None,
         since: Optional[dt.datetime] = None, until: Optional[dt.datetime] = None) -> "DueView":
    from tiergate.review.due import due_view

    policy = _usable_policy(_repo_root(repo))
    observed = None
    if audit:
        from tiergate.audit.run import for_review

        observed = for_review(policy, audit, _day(as_of), _window_start(since), _window_end(until))
    return due_view(policy, _day(as_of), with_spend, observed)


def review_audit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--audit SOURCE (with --since/--until; default the 30 days up to the as-of day): production's side of the review."""
    f = audit_options(f)
    return click.option("--audit", "audit_source", help="Add observed spend, escalation and drift per task from this "
                                                        "source (as for `tiergate audit --source`), and rank downgrades by money saved.")(f)


@review_group.command("due")
@as_of_option("Review date (default: today, UTC).")
@repo_option
@format_option(DUE)
@review_audit_options
def review_due(as_of: Optional[dt.datetime], repo: str, fmt: str, audit_source: Optional[str], since: Optional[dt.datetime],
               until: Optional[dt.datetime]) -> int:
    """List every assignment due for re-evaluation, with every reason and the cheaper tier to re-test.

    Exit 0 whether or not anything is due; the last line says how many.
    """
    emit(formats(DUE), fmt, _due(repo, as_of, audit=audit_source, since=since, until=until))
    return EXIT_OK


@review_group.command("open-issue")
@click.option("--github-repo", help="OWNER/NAME (default: GITHUB_REPOSITORY).")
@as_of_option("Review date (default: today, UTC); names the quarter.")
@click.option("--dry-run", is_flag=True, help="Print the title and body; call nothing.")
@click.option("--update-only", is_flag=True, help="Update this quarter's issue if it exists; never open one.")
@repo_option
@review_audit_options
def review_open_issue(github_repo: Optional[str], as_of: Optional[dt.datetime], dry_run: bool, update_only: bool, repo: str,
                      audit_source: Optional[str], since: Optional[dt.datetime], until: Optional[dt.datetime]) -> int:
    """Open this quarter's review issue, or update it (ticked boxes kept, unchanged bodies not re-sent).

    Token from GITHUB_TOKEN, API root from GITHUB_API_URL (default https://api.github.com).
    """
    from tiergate.review.issue import open_issue

    from tiergate.review.render import production

    view = _due(repo, as_of, with_spend=True, audit=audit_source, since=since, until=until)
    click.echo(open_issue(view.items, view.total, view.as_of, github_repo, dry_run, update_only, os.environ, view.spend,
                          production(view, "markdown")), nl=False)
    return EXIT_OK


@cli.command("audit")
@click.option("--source", help="postgresql://USER@HOST:PORT/DB (LiteLLM_SpendLogs), or a .jsonl/.csv/.parquet export "
                               "or OTLP .json spans file (FOLDER/*.parquet for every such file in a folder).")
@click.option("--sql", "dialect", help="Print the audit's one query for this SQL dialect (bigquery, snowflake, trino, ...) "
                                       "instead, to run where the spend log lives.")
@click.option("--grouped", is_flag=True, help="--source holds the rows that query returned (.jsonl, .csv or .parquet).")
@audit_options
@repo_option
@format_option(AUDIT)
def audit_cmd(source: Optional[str], dialect: Optional[str], grouped: bool, since: Optional[dt.datetime], until: Optional[dt.datetime],
              repo: str, fmt: str) -> int:
    """Compare production traffic with the contracts: models outside the chain, escalation, spend, tokens, volume.

    Exit 0 when no error-level finding (drift, no data), 1 otherwise, 2 when the source cannot be read.
    Needs the audit extra: pip install 'tiergate[audit]'.
    """
    from tiergate.audit.run import audit, warehouse_sql

    if (source is None) == (dialect is None):
        raise click.UsageError("give --source (audit it) or --sql DIALECT (print the query), not both or neither")
    if dialect is not None:
        click.echo(warehouse_sql(_usable_policy(_repo_root(repo)), dialect, _window_start(since), _window_end(until)), nl=False)
        return EXIT_OK
    assert source is not None
    result = audit(_usable_policy(_repo_root(repo)), source, _window_start(since), _window_end(until), grouped)
    emit(formats(AUDIT), fmt, result)
    return EXIT_OK if result.ok else EXIT_VIOLATION


@cli.command("rules")
def rules_cmd() -> int:
    """List every rule id as a Markdown table."""
    from tiergate.rules import REGISTRY

    click.echo("| id | name | severity | what it means |\n|---|---|---|---|")
    for rule in REGISTRY.values():
        click.echo(f"| {rule.id} | {rule.name} | {rule.severity} | {rule.summary} |")
    return EXIT_OK


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: map every outcome to 0/1/2 and one clear line; never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="tiergate", standalone_mode=False)
    except click.UsageError as err:
        hint = f"; see `{err.ctx.command_path} --help`" if err.ctx is not None else ""
        click.echo(f"tiergate: error: {' '.join(err.format_message().split()).rstrip('.')}{hint}", err=True)
        code = EXIT_CANNOT_DECIDE
    except click.ClickException as err:
        click.echo(f"tiergate: error: {err.format_message()}", err=True)
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
