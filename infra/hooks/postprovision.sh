#!/bin/sh
# azd postprovision hook (azure.yaml): runs after every `azd provision` / `azd up`, with the Bicep
# outputs (infra/main.bicep) in the environment.
#  1. Builds the agent images in the registry (ACR Tasks; no local Docker) unless the tag exists.
#     Each tag is <agent version>-<hash of that image's inputs> (preprovision; -windows for Windows):
#     a first deploy builds here (the registry is new; azd deploys the app after this hook), later
#     ones in preprovision.
#     No build argument is needed: the Dockerfile's defaults pin the agent version and its SHA-256.
#  2. Creates the webhook password secret once (64 random hex characters); never rotates it.
#  3. Makes the app re-read its Key Vault references now: on the first run the app was created
#     before the secret existed, and App Service would otherwise retry only about every 24 hours.
set -eu
cd "$(dirname "$0")/../.."

# 1. Agent image (infra/hooks/agent-image.sh: skipped when the tag exists, e.g. built by preprovision)
sh infra/hooks/agent-image.sh build
# 1b. Windows agent image (AGENT_IMAGE_TAG_WINDOWS), only when AZP_WINDOWS_AGENT_SHA256 is set
#     (infra/agent/README.md); skipped when the tag exists.
node infra/agent/windows/acr-build.mjs build

# 2. Webhook password: retries while the deployer's Key Vault Secrets Officer role propagates (up to 5 min).
i=0
until az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$WEBHOOK_PASSWORD_SECRET_NAME" --query id --output tsv >/dev/null 2>&1 \
  || az keyvault secret set --vault-name "$AZURE_KEY_VAULT_NAME" --name "$WEBHOOK_PASSWORD_SECRET_NAME" \
       --value "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" --output none >/dev/null; do
  i=$((i + 1))
  if [ "$i" -ge 10 ]; then echo "could not create the secret $WEBHOOK_PASSWORD_SECRET_NAME in $AZURE_KEY_VAULT_NAME" >&2; exit 1; fi
  sleep "${SECRET_RETRY_SECONDS:-30}"
done

# 3. Key Vault references: documented refresh endpoint (App Service "Use Key Vault references", rotation).
arm=$(az cloud show --query endpoints.resourceManager --output tsv 2>/dev/null || echo https://management.azure.com/)
az rest --method post --output none \
  --url "${arm%/}${AZURE_FUNCTION_APP_ID}/config/configreferences/appsettings/refresh?api-version=2022-03-01"
echo "Key Vault references of $AZURE_FUNCTION_APP_NAME refreshed"
