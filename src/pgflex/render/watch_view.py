"""``pgflex sessions --watch`` for people and logs: one line per server, per client seen, per client the
policy would refuse, then the verdict. The same lines on a terminal and in a log (they are short)."""

from __future__ import annotations

from pgflex.verify.watch import WatchedClient, WatchReport

from .log_line import result_line


def client_detail(client: WatchedClient) -> str:
    return (
        f"user={client.user} database={client.database} application={client.application or '-'} "
        f"client={client.client_address} tls={','.join(sorted(client.versions))} "
        f"first={client.first_seen} last={client.last_seen} peak={client.peak_sessions}"
    )


def watch_lines(report: WatchReport) -> list[str]:
    lines = []
    for server in report.servers:
        entry = server.sessions
        lines.append(result_line(entry.server, "watch", entry.status, entry.detail))
        for client in server.clients:
            lines.append(
                result_line(
                    entry.server, "client", "warn" if "no TLS" in client.versions else "pass", client_detail(client)
                )
            )
    refused = report.refused()
    for server_name, client, versions in refused:
        lines.append(
            result_line(server_name, "policy", "refuses", f"{client_detail(client)} refused={','.join(versions)}")
        )
    verdict = "PASSED" if report.passed else "FAILED"
    seen = sum(len(server.clients) for server in report.servers)
    summary = f"sessions --watch {report.environment}: {verdict}, {seen} client(s) seen in {report.duration_seconds:g}s"
    if report.policy is not None:
        policy = report.policy
        rule = f"minimum {policy.min_version}" if policy.min_version else "no minimum"
        rule += ", TLS required" if policy.require_tls else ""
        summary += f"; policy ({rule}) would refuse {len(refused)} client(s)"
    lines.append(summary)
    return lines
