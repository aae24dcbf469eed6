"""What rule families see: the loaded policy, the moment of evaluation, and for the gate the change.

Families never read files. What they need beyond the loaded policy comes in here: ``peers``
loads, on request, contracts a partial load left out (the engine decides how), and
``Change`` carries the base branch's side of a comparison.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Optional

from tiergate.costdiff import CostDiff
from tiergate.gitio import Change as PathChange
from tiergate.layout import canonical
from tiergate.loading import Document
from tiergate.models import Catalog, Contract
from tiergate.policy import Policy

# Contracts not loaded by a partial (check) load whose bytes contain every needle, parsed.
Peers = Callable[[list[bytes]], list[tuple[Contract, Document]]]


def _no_peers(needles: list[bytes]) -> list[tuple[Contract, Document]]:
    return []


@dataclass
class Context:
    policy: Policy
    now: dt.datetime  # timezone-aware; evidence newer than this is "in the future"
    peers: Peers = field(default=_no_peers)

    @property
    def today(self) -> dt.date:
        return self.now.date()


@dataclass(frozen=True)
class Pair:
    """A touched contract on the head side and, unless it is new, on the base side."""

    head: Contract
    doc: Document
    base: Optional[Contract]


@dataclass
class Change:
    """The change under review: the head context plus the base branch's catalog, contracts and paths."""

    head: Context
    base_catalog: Catalog
    pairs: list[Pair]
    paths: list[PathChange]
    base_set_versions: dict[str, Optional[str]] = field(default_factory=dict)  # eval set path -> sha256 on the base branch
    deleted: list[tuple[str, Optional[Contract]]] = field(default_factory=list)  # contract files gone, with their base contract
    cost: CostDiff = field(default_factory=CostDiff)  # the monthly cost of the touched contracts, base against head

    @property
    def base_platform_owner(self) -> str:
        """Who must approve gate changes: GitHub requests reviews from the base branch's CODEOWNERS."""
        return self.base_catalog.platform_owner

    def changed(self, path: str) -> bool:
        """Whether the change touches ``path``, however a contract spells it (``policy/prompts/./x.txt`` is ``policy/prompts/x.txt``)."""
        path = canonical(path)
        return any(path in (p.path, p.old_path) for p in self.paths)
