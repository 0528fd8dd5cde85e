"""The exit codes of every pgflex command, and of the library's results (``result.exit_code``).

One table, so that a pipeline can tell "nothing changed, TLS broken" from "half-applied":

====  =====================================================================================
0     success: done, nothing to change, every check passed
1     error: bad input, Azure refused, apply failed or was refused, a check failed (verify)
2     changes or drift present (``plan --detailed-exitcode``, ``drift``)
3     apply succeeded (or had nothing to do) but verifying TLS on the live servers failed
====  =====================================================================================
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2
    VERIFY_FAILED = 3
