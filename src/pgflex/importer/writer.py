"""The env file as text, with ruamel.yaml (the YAML library the spec loader reads with), laid out as people write
it: block mappings for the structure, one-line mappings and lists for leaves (sku, tls, a firewall rule), the
header and per-server notes as comments.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

# Mappings kept in block style even when every value is a scalar: they grow long, one entry per line reads best.
_BLOCK_MAPPINGS = frozenset({"environment", "tags", "parameters"})


def render(document: dict[str, Any], *, header: list[str], notes: dict[str, list[str]], password_note: str) -> str:
    """``document`` (env.yaml's keys) as YAML text: ``header`` lines on top, ``notes`` (by server name) above each
    server, ``password_note`` beside every password. String values are written so that the loader reads them back
    unchanged: ``${`` would interpolate an environment variable, so it is written ``$${``."""
    root = CommentedMap((key, _commented(value, key)) for key, value in document.items())
    root.yaml_set_start_comment("\n".join(header))
    for key in ("defaults", "servers"):
        if key in root:
            root.yaml_set_comment_before_after_key(key, before="\n")
    servers = root["servers"]
    for index, server in enumerate(servers):
        lines = notes.get(str(server["name"]), [])
        if index:  # a blank line between servers
            lines = ["", *lines]
        if lines:
            servers.yaml_set_comment_before_after_key(index, before="\n".join(lines), indent=2)
    for holder in [root.get("defaults") or {}, *servers]:
        administrator = holder.get("administrator")
        if isinstance(administrator, CommentedMap) and "password" in administrator:
            administrator.yaml_add_eol_comment(password_note, "password")
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long value (a subnet id) over lines
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue()


def _commented(value: Any, key: str | None) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap((name, _commented(item, name)) for name, item in value.items())
        if key not in _BLOCK_MAPPINGS and all(_is_scalar(item) for item in value.values()):
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(_commented(item, None) for item in value)
        if all(_is_scalar(item) for item in value):
            sequence.fa.set_flow_style()
        return sequence
    if isinstance(value, str):
        return value.replace("${", "$${")
    return value


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)
