"""Where things live in a governance repository: every path tiergate knows, named once.

Which path is a contract, an artifact, an eval set or part of the gate is a security
judgement (a file the gate misclassifies is a file it does not check), so it is made here
and nowhere else; every other module imports these names.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

POLICY = "policy"
CATALOG = "policy/tiers.yaml"
TASKS = "policy/tasks"
EVALS = "evals"
DATASETS = "evals/datasets"
SCHEMAS = "schemas"
PROMPTS = "policy/prompts"  # prompt templates and judge rubrics that contracts name
LOCAL = ".tiergate"  # this checkout's own working files, never committed (the scaffold's .gitignore lists it)
CACHE = ".tiergate/cache"  # `eval run`'s response cache: outside evals/, so nothing in it is ever evidence
TRIALS = ".tiergate/trials"  # records of `eval run --limit` runs: a trial is never evidence
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # the order GitHub looks in
DEFAULT_CODEOWNERS = "CODEOWNERS"
GATE_FOLDERS = ("src/", ".github/", f"{SCHEMAS}/")  # the gate's own code, workflows and the schemas editors trust
# the composite action (which installs and runs the gate) and the package definition it installs: gate code too
GATE_FILES = ("action.yml", "action.yaml", "pyproject.toml")
YAML_SUFFIXES = (".yaml", ".yml")
RECORDS_SUFFIX = ".records.jsonl"
# The CODEOWNERS patterns that give the platform owner's areas to it (the managed block writes
# them; a pattern ending in "/" is a whole folder, every path inside it must be the platform's) ...
PLATFORM_PATTERNS = ("/policy/tiers.yaml", "/.github/", "/src/", f"/{SCHEMAS}/", *(f"/{name}" for name in GATE_FILES))
# ... and, in the same order, one file inside each area, named in messages.
PLATFORM_PROBES = (CATALOG, ".github/workflows/policy-gate.yml", "src/tiergate/__init__.py", f"{SCHEMAS}/contract.schema.json", *GATE_FILES)


def canonical(path: str) -> str:
    """A relative path spelt the one way git spells it: no ``.`` segments, no empty ones (``a/./b``, ``a//b`` are ``a/b``).

    A contract names its files as it likes; a comparison with the paths git reports must not depend on the spelling."""
    return "/".join(part for part in PurePosixPath(path).parts if part != ".")


def under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


TASK_ID = r"[a-z0-9][a-z0-9-]{0,62}"
CONTRACT_FILE = re.compile(rf"^{TASKS}/({TASK_ID})\.yaml$")


def is_contract(path: str) -> bool:
    """Exactly ``policy/tasks/<task id>.yaml``: a task is its id, so no other spelling is a contract."""
    return CONTRACT_FILE.match(path) is not None


def is_stray(path: str) -> bool:
    """Anything under policy/tasks/ that is not a contract file: refused, never silently skipped."""
    return under(path, TASKS) and not is_contract(path)


def contract_path(task: str) -> str:
    return f"{TASKS}/{task}.yaml"


def is_evidence(path: str) -> bool:
    """An artifact or records file: anything under evals/ except the eval sets."""
    return under(path, EVALS) and not under(path, DATASETS)


def is_artifact(path: str) -> bool:
    return is_evidence(path) and path.endswith(YAML_SUFFIXES)


def is_codeowners(path: str) -> bool:
    return path in CODEOWNERS_LOCATIONS


def gate_area(path: str) -> str | None:
    """The gate area ``path`` belongs to (src/, .github/, schemas/, the action, pyproject.toml, the catalog, CODEOWNERS), or None."""
    folder = next((f for f in GATE_FOLDERS if path.startswith(f)), None)
    if folder is not None:
        return folder
    return path if path == CATALOG or is_codeowners(path) or path in GATE_FILES else None


def task_stem(path: str) -> str:
    return PurePosixPath(path).stem


def evidence_folder(task: str) -> str:
    """The folder a task's artifacts and records are written to, ending in "/": ``evals/<task>/``."""
    return f"{EVALS}/{task}/"


def is_prompt_file(path: str) -> bool:
    """A prompt template or rubric a contract may name: a file under policy/prompts/ (checked without ``..``)."""
    return under(path, PROMPTS) and ".." not in PurePosixPath(path).parts
