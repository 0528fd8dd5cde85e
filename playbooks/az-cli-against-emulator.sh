#!/usr/bin/env bash
# Drive the emulator with the Azure CLI (az), registered as a custom cloud.
# Checked with azure-cli 2.91.0 (scripts/az-setup installs it into .venv-az; tests/playbooks/test_az_playbook.py
# runs this file in CI): flexible-server create (also Microsoft Entra only)/update (tags, storage, maintenance window,
# Microsoft Entra authentication)/show/list, parameter set/show, firewall-rule create/list, db create/list/show/delete,
# microsoft-entra-admin create/list/show/delete, server-logs list, replica list and backup list. Not here: `upgrade`
# (the emulator does not emulate a major-version upgrade and refuses it).
#
# Needs: a running emulator (pgflex emulator start) and az on PATH (or in .venv-az/bin).
# Uses a separate AZURE_CONFIG_DIR so your real az login is left alone.
# AZ_DEMO_GROUP and AZ_DEMO_SERVER name the resource group and server (default rg-az-demo, az-demo-pg); a second
# server, Microsoft Entra only, is named after the first with -entra.
set -euo pipefail
PATH="$PATH:$(dirname "$0")/../.venv-az/bin"
eval "$(pgflex emulator env)"
export AZURE_CONFIG_DIR="${AZURE_CONFIG_DIR_EMULATOR:-$PGFLEX_EMULATOR_STATE_DIR/az}"
GROUP="${AZ_DEMO_GROUP:-rg-az-demo}"
SERVER="${AZ_DEMO_SERVER:-az-demo-pg}"
ON_SERVER=(-g "$GROUP" -s "$SERVER")
DBA=5b0c7d1e-9f3a-4c2b-8e6d-1a2b3c4d5e6f            # a Microsoft Entra user, kept as administrator
DEPLOYER=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9       # a service principal, added then removed

# az reads the cloud's endpoints from $ARM/metadata/endpoints, which the emulator serves.
az cloud register -n pgflex-emulator --endpoint-resource-manager "$PGFLEX_ARM_ENDPOINT" -o none 2>/dev/null \
  || az cloud update -n pgflex-emulator --endpoint-resource-manager "$PGFLEX_ARM_ENDPOINT" -o none
az cloud set -n pgflex-emulator
# az trusts REQUESTS_CA_BUNDLE (set by `pgflex emulator env`) and logs in with the emulator's managed identity.
az login --identity -o none

az group create -n "$GROUP" -l westeurope -o none
az postgres flexible-server create -g "$GROUP" -n "$SERVER" -l westeurope \
  --admin-user pgadmin --admin-password 'Az-Demo-Passw0rd!' \
  --tier Burstable --sku-name Standard_B1ms --storage-size 32 --version 16 \
  --public-access 127.0.0.1 --yes -o none
az postgres flexible-server parameter set "${ON_SERVER[@]}" -n ssl_min_protocol_version --value TLSv1.3 -o none
az postgres flexible-server firewall-rule create "${ON_SERVER[@]}" -n office \
  --start-ip-address 203.0.113.1 --end-ip-address 203.0.113.9 -o none
az postgres flexible-server firewall-rule list "${ON_SERVER[@]}" -o table
az postgres flexible-server parameter show "${ON_SERVER[@]}" -n ssl_min_protocol_version \
  --query "{name:name, value:value, pendingRestart:isConfigPendingRestart}" -o table

# update: each reads the server's capabilities first, then PATCHes.
az postgres flexible-server update -g "$GROUP" -n "$SERVER" --tags team=data env=ci -o none
az postgres flexible-server update -g "$GROUP" -n "$SERVER" --storage-size 64 -o none
az postgres flexible-server update -g "$GROUP" -n "$SERVER" --maintenance-window Sun:23:30 -o none
az postgres flexible-server update -g "$GROUP" -n "$SERVER" --microsoft-entra-auth Enabled -o none

# Databases: real PostgreSQL databases on the emulated server.
az postgres flexible-server db create "${ON_SERVER[@]}" -n appdb -o none
az postgres flexible-server db create "${ON_SERVER[@]}" -n scratch --charset UTF8 --collation en_US.utf8 -o none
az postgres flexible-server db show "${ON_SERVER[@]}" -n appdb --query "{name:name, charset:charset}" -o table
az postgres flexible-server db delete "${ON_SERVER[@]}" -n scratch --yes -o none
az postgres flexible-server db list "${ON_SERVER[@]}" -o table

# Microsoft Entra administrators (Entra authentication is on since the update above).
az postgres flexible-server microsoft-entra-admin create "${ON_SERVER[@]}" -i "$DBA" -u dba@contoso.com -t User -o none
az postgres flexible-server microsoft-entra-admin create "${ON_SERVER[@]}" -i "$DEPLOYER" -u ci-deployer \
  -t ServicePrincipal -o none
az postgres flexible-server microsoft-entra-admin show "${ON_SERVER[@]}" -i "$DEPLOYER" \
  --query "{name:principalName, principalType:principalType}" -o table
az postgres flexible-server microsoft-entra-admin delete "${ON_SERVER[@]}" -i "$DEPLOYER" --yes -o none
az postgres flexible-server microsoft-entra-admin list "${ON_SERVER[@]}" -o table

# What the server has: its PostgreSQL's log files, its replicas (none) and its automatic backups.
az postgres flexible-server server-logs list "${ON_SERVER[@]}" -o table
az postgres flexible-server replica list -g "$GROUP" -n "$SERVER" -o table
az postgres flexible-server backup list "${ON_SERVER[@]}" -o table

# A server for Microsoft Entra logins only, created with its administrator (no password anywhere).
az postgres flexible-server create -g "$GROUP" -n "$SERVER-entra" -l westeurope \
  --tier Burstable --sku-name Standard_B1ms --storage-size 32 --version 16 --public-access None \
  --microsoft-entra-auth Enabled --password-auth Disabled \
  --admin-object-id "$DBA" --admin-display-name dba@contoso.com --admin-type User --yes -o none
az postgres flexible-server microsoft-entra-admin list -g "$GROUP" -s "$SERVER-entra" -o table

az postgres flexible-server show -g "$GROUP" -n "$SERVER" -o table --query "{name:name, team:tags.team, env:tags.env, \
storageGb:storage.storageSizeGb, maintenanceDay:maintenanceWindow.dayOfWeek, hour:maintenanceWindow.startHour, \
minute:maintenanceWindow.startMinute, entra:authConfig.activeDirectoryAuth}"
az postgres flexible-server list -o table
