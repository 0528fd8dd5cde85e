"""What every emulated server has before its administrator exists: roles and the extension allow-list.

Azure's administrator is not a superuser; it belongs to ``azure_pg_admin``, which holds ``pg_monitor``.
``CREATE EXTENSION`` by anyone but a superuser is checked against the ``azure.extensions`` parameter by
an event trigger owned by the superuser. The trigger reads the parameter from the configuration files
(``pg_file_settings``), not the session, because any user can ``SET`` a custom placeholder parameter.
It runs at ``ddl_command_end`` so that the extension is known by oid, not parsed from the query text;
raising there rolls the whole ``CREATE EXTENSION`` back. Extensions pulled in by ``CASCADE`` are checked too.
"""

from __future__ import annotations

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.cluster import Cluster

ALLOW_LIST_MESSAGE = 'Extension "%s" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL'

CLUSTER_SQL = [
    f"CREATE ROLE {config.ADMIN_GROUP} NOLOGIN",
    f"GRANT pg_monitor TO {config.ADMIN_GROUP}",
    # As on Azure, the administrator may create objects and (allow-listed) extensions in "postgres".
    f"GRANT CREATE ON DATABASE postgres TO {config.ADMIN_GROUP}",
    f"GRANT ALL ON SCHEMA public TO {config.ADMIN_GROUP}",
]

# Run in template1 (so databases the administrator creates inherit it) and in postgres.
DATABASE_SQL = [
    "CREATE SCHEMA azure_emulator",
    "REVOKE ALL ON SCHEMA azure_emulator FROM PUBLIC",
    # Only module constants are interpolated into these statements.
    f"""
CREATE FUNCTION azure_emulator.allow_listed_extensions() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
  SELECT coalesce(
    (SELECT string_to_array(lower(replace(setting, ' ', '')), ',')
       FROM pg_file_settings
      WHERE name = '{config.EXTENSIONS_GUC}' AND error IS NULL
      ORDER BY seqno DESC LIMIT 1),
    '{{}}')
$fn$""",  # noqa: S608
    f"""
CREATE FUNCTION azure_emulator.enforce_extension_allow_list() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
  allowed text[];
  extension_name text;
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
    RETURN;  -- the emulator's own superuser is not an azure_pg_admin user
  END IF;
  allowed := azure_emulator.allow_listed_extensions();
  FOR extension_name IN
    WITH RECURSIVE created(oid) AS (
      SELECT c.objid FROM pg_event_trigger_ddl_commands() c WHERE c.classid = 'pg_extension'::regclass
      UNION
      SELECT d.refobjid FROM pg_depend d JOIN created ON d.objid = created.oid
       WHERE d.classid = 'pg_extension'::regclass AND d.refclassid = 'pg_extension'::regclass
    )
    SELECT e.extname FROM pg_extension e JOIN created USING (oid) WHERE e.extname <> 'plpgsql'
  LOOP
    IF NOT lower(extension_name) = ANY (allowed) THEN
      RAISE EXCEPTION '{ALLOW_LIST_MESSAGE.replace("%s", "%")}', extension_name
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END LOOP;
END
$fn$""",  # noqa: S608
    "REVOKE ALL ON FUNCTION azure_emulator.allow_listed_extensions() FROM PUBLIC",
    """
CREATE EVENT TRIGGER azure_extension_allow_list ON ddl_command_end
  WHEN TAG IN ('CREATE EXTENSION')
  EXECUTE FUNCTION azure_emulator.enforce_extension_allow_list()""",
]


def bootstrap(cluster: Cluster) -> None:
    """Create the Azure roles and the allow-list trigger in a freshly initialised, running cluster."""
    cluster.execute(CLUSTER_SQL)
    for database in ("template1", "postgres"):
        prepare_database(cluster, database)


def prepare_database(cluster: Cluster, database: str) -> None:
    """The allow-list trigger in one database (those copied from template1 have it already)."""
    cluster.execute(DATABASE_SQL, dbname=database)
