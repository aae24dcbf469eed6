"""The one user-facing error type.

Anything that stops a command before it can reach a verdict (bad usage, a file that cannot
be written, a repository that is not one) raises ``TierGateError``. The CLI turns it into a
single line on stderr and exit code 2, so a gate never mistakes "could not decide" for "pass".
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_CANNOT_DECIDE = 2


class TierGateError(Exception):
    """A problem the user can fix; ``str(err)`` is the whole message."""

    def __init__(self, message: str, exit_code: int = EXIT_CANNOT_DECIDE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
