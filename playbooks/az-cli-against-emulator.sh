#!/usr/bin/env bash
# Drive the emulator with the Azure CLI (az), registered as a custom cloud.
# Checked with azure-cli 2.91.0: flexible-server create/list/show/restart/stop/start/delete,
# parameter set/show/list and firewall-rule create/list/delete all work.
#
# Needs: a running emulator (pgflex emulator start) and az on PATH (pip install azure-cli).
# Uses a separate AZURE_CONFIG_DIR so your real az login is left alone.
set -euo pipefail
eval "$(pgflex emulator env)"
export AZURE_CONFIG_DIR="${AZURE_CONFIG_DIR_EMULATOR:-$PGFLEX_EMULATOR_STATE_DIR/az}"

# az reads the cloud's endpoints from $ARM/metadata/endpoints, which the emulator serves.
az cloud register -n pgflex-emulator --endpoint-resource-manager "$PGFLEX_ARM_ENDPOINT" -o none 2>/dev/null \
  || az cloud update -n pgflex-emulator --endpoint-resource-manager "$PGFLEX_ARM_ENDPOINT" -o none
az cloud set -n pgflex-emulator
# az trusts REQUESTS_CA_BUNDLE (set by `pgflex emulator env`) and logs in with the emulator's managed identity.
az login --identity -o none

az group create -n rg-az-demo -l westeurope -o none
az postgres flexible-server create -g rg-az-demo -n az-demo-pg -l westeurope \
  --admin-user pgadmin --admin-password 'Az-Demo-Passw0rd!' \
  --tier Burstable --sku-name Standard_B1ms --storage-size 32 --version 16 \
  --public-access 127.0.0.1 --yes -o none
az postgres flexible-server parameter set -g rg-az-demo -s az-demo-pg -n ssl_min_protocol_version --value TLSv1.3 -o none
az postgres flexible-server firewall-rule create -g rg-az-demo -s az-demo-pg -n office \
  --start-ip-address 203.0.113.1 --end-ip-address 203.0.113.9 -o none
az postgres flexible-server firewall-rule list -g rg-az-demo -s az-demo-pg -o table
az postgres flexible-server parameter show -g rg-az-demo -s az-demo-pg -n ssl_min_protocol_version \
  --query "{name:name, value:value, pendingRestart:isConfigPendingRestart}" -o table
az postgres flexible-server list -o table
