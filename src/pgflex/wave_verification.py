"""The verification a rollout runs after each wave (``--canary``, ``--wave-size``), shared by the CLI and the library.

The engine calls it through its ``verify_wave`` callback (the engine never imports verify); it keeps every wave's
verify report, so that apply's report shows the checks of each server verified, the failing one among them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pgflex.engine.rollout import Rollout

if TYPE_CHECKING:
    from pgflex.azure.clients import AzureClients
    from pgflex.engine.apply import ApplyResult
    from pgflex.spec import Environment
    from pgflex.verify import VerifyReport


class WaveVerification:
    """``verify_wave``: verifies one wave's servers on the live servers and keeps the report."""

    def __init__(self, env: Environment, clients: AzureClients, ca_bundle: str | Path | None = None) -> None:
        self.env = env
        self.clients = clients
        self.ca_bundle = ca_bundle
        self.reports: list[VerifyReport] = []

    def __call__(self, servers: Sequence[str]) -> bool:
        report = self._verify(servers)
        return report.passed

    def _verify(self, servers: Sequence[str]) -> VerifyReport:
        from pgflex.verify import verify

        report = verify(self.env, clients=self.clients, ca_bundle=self.ca_bundle, servers=list(servers))
        self.reports.append(report)
        return report

    def rollout(self, canary: int | None, wave_size: int | None) -> Rollout:
        return Rollout(self, canary, wave_size)

    def report(self, result: ApplyResult) -> VerifyReport | None:
        """Every wave's verification in one report; once the rollout has run to its end, the servers it did not
        change are verified too, as a whole apply verifies every server."""
        from pgflex.verify import VerifyReport

        in_waves = {name for wave in result.waves or [] for name in wave.servers}
        finished = not result.untouched and not result.failures
        rest = [server.name for server in self.env.servers if server.name not in in_waves]
        if finished and rest:
            self._verify(rest)
        if not self.reports:
            return None
        servers = tuple(server for report in self.reports for server in report.servers)
        seconds = sum(report.seconds for report in self.reports)
        return VerifyReport(self.env.name, self.env.cloud, self.env.source, servers, seconds)
