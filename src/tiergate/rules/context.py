"""What every rule family sees: the loaded policy and the moment of evaluation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tiergate.policy import Policy


@dataclass
class Context:
    policy: Policy
    now: dt.datetime  # timezone-aware; evidence newer than this is "in the future"

    @property
    def today(self) -> dt.date:
        return self.now.date()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
