"""Server names are global DNS names, and the service keeps a deleted server's name for a while.

Seen from outside: after a delete has succeeded, GET answers 404 while checkNameAvailability still says
``AlreadyExists`` (terraform-provider-azurerm #16622) and creating the name again fails (azure-sdk-for-python
#34351: "more than 5 minutes"; #16622: days, within the 5 days a dropped server can be restored in). The
emulator holds a deleted name for ``deleted_name_hold_seconds`` (a tuning value) and refuses it with the
service's ServerNameAlreadyExists at the request (assumed: the service was seen failing the create's operation
instead, with an InternalServerError that names nothing).
"""

from __future__ import annotations

import time

from ..errors import Conflict
from ..store import Record
from .context import Context
from .ids import SERVER_TYPE

HELD_NAME_TYPE = "pgflex.emulator/heldServerNames"  # never an ARM type: no route lists it


class ServerNameAlreadyExists(Conflict):
    """The service's answer to a name in use or still held (its text, azure-cli #11633)."""

    code = "ServerNameAlreadyExists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Specified server name '{name}' is already used. Please use a different name and try again.")


class ServerNames:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def taken(self, name: str) -> bool:
        """A server has the name, or had it and the name is still held."""
        return bool(self._ctx.store.named(SERVER_TYPE, name)) or self._held(name)

    def require_free(self, name: str) -> None:
        if self.taken(name):
            raise ServerNameAlreadyExists(name)

    def hold(self, name: str) -> None:
        """Called when a server is gone: its name stays taken from now on, for as long as the tuning says."""
        held_id = _held_id(name)
        body = {"name": name.lower(), "deletedAt": time.time()}
        self._ctx.store.put(Record(held_id, HELD_NAME_TYPE, "", "", "", body))

    def _held(self, name: str) -> bool:
        record = self._ctx.store.get(_held_id(name))
        if record is None:
            return False
        if time.time() < float(record.body["deletedAt"]) + self._ctx.tuning.deleted_name_hold_seconds:
            return True
        self._ctx.store.delete(record.id)
        return False


def _held_id(name: str) -> str:
    return f"/pgflexEmulator/heldServerNames/{name.lower()}"
