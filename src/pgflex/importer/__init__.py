"""`pgflex import`: env files from live servers, so that existing servers can be adopted without retyping them.

live.py reads (engine/reads.py's primitives), mapping.py puts each server in the spec's shape, writer.py lays out
the YAML, run.py ties them together per resource group. The library entry point is pgflex.api.import_environment.
"""

from .live import ImportInputError
from .run import DEFAULT_PASSWORD_ENV, ImportedEnvironment, ImportResult, import_environment

__all__ = [
    "DEFAULT_PASSWORD_ENV",
    "ImportInputError",
    "ImportResult",
    "ImportedEnvironment",
    "import_environment",
]
