#!/bin/sh
# azd preprovision hook (azure.yaml): runs before every `azd provision` / `azd up`.
#  1. Registers every resource provider the deployment and the app use (infra/hooks/providers.txt)
#     and waits until each one is Registered: a fresh subscription otherwise fails every container
#     group create with MissingSubscriptionRegistration.
#  2. Sets AGENT_IMAGE_TAG in the azd environment: <agent version>-<hash of the image's inputs>
#     (infra/hooks/agent-image.sh tag), and AGENT_IMAGE_TAG_WINDOWS: the same from the Windows
#     image's own inputs, plus -windows (infra/agent/windows/acr-build.mjs tag). main.parameters.json
#     passes both to Bicep. When the registry exists already (not the first deploy), builds both tags
#     now (the Windows one only with AZP_WINDOWS_AGENT_SHA256), before provision points POOLS at them.
# Needs: az (logged in to AZURE_SUBSCRIPTION_ID), azd, node (the Windows image tag).
set -eu
cd "$(dirname "$0")/../.."

sub_args=""
if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then sub_args="--subscription $AZURE_SUBSCRIPTION_ID"; fi
providers=$(grep -v '^[[:space:]]*#' infra/hooks/providers.txt | tr -d '\r' | grep -v '^[[:space:]]*$')

state() {
  # shellcheck disable=SC2086 # sub_args is empty or two words
  az provider show $sub_args --namespace "$1" --query registrationState --output tsv 2>/dev/null || echo Unknown
}

pending=""
for ns in $providers; do
  if [ "$(state "$ns")" != "Registered" ]; then
    echo "Registering resource provider $ns"
    # shellcheck disable=SC2086
    az provider register $sub_args --namespace "$ns" --output none
    pending="$pending $ns"
  fi
done

# Registration takes seconds to a few minutes per provider; wait up to PROVIDER_WAIT_SECONDS (900).
deadline=$(( $(date +%s) + ${PROVIDER_WAIT_SECONDS:-900} ))
for ns in $pending; do
  until [ "$(state "$ns")" = "Registered" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "Resource provider $ns is still not Registered; retry later or run: az provider register --namespace $ns --wait" >&2
      exit 1
    fi
    sleep "${PROVIDER_POLL_SECONDS:-10}"
  done
  echo "Resource provider $ns: Registered"
done

# Regions (SKIP_REGION_CHECKS=1 skips): the Function App needs a Flex Consumption region; profiles
# with "spot": true get a warning outside the regions documented for Spot (infra/README.md#regions).
if [ "${SKIP_REGION_CHECKS:-}" != 1 ] && [ -n "${AZURE_LOCATION:-}" ]; then
  norm() { tr -d ' ' | tr '[:upper:]' '[:lower:]'; }
  loc=$(printf '%s' "$AZURE_LOCATION" | norm)
  flex=$(az functionapp list-flexconsumption-locations --query "[].name" --output tsv | norm)
  if ! printf '%s\n' "$flex" | grep -qx "$loc"; then
    echo "AZURE_LOCATION=$AZURE_LOCATION has no Flex Consumption plan. Regions that have it:" >&2
    printf '%s\n' "$flex" | tr '\n' ' ' >&2; echo >&2
    exit 1
  fi
  aci=$(printf '%s' "${ACI_LOCATION:-$AZURE_LOCATION}" | norm)
  if grep -q '"spot"[[:space:]]*:[[:space:]]*true' infra/main.parameters.json; then
    case "$aci" in
      westeurope | eastus2 | westus) ;;
      # A warning, not a refusal: the list comes from the 2023 preview tutorial ("Deploy a Spot
      # container ... via Azure portal") and may have grown; a region without Spot fails the create
      # with a capacity error, which a {"spot": false} fallback absorbs.
      *) echo "warning: a pool profile sets \"spot\": true; ACI Spot containers were documented (2023 preview) only in westeurope, eastus2 and westus, not $aci: give the profile a {\"spot\": false} fallback, or set ACI_LOCATION to one of them" >&2 ;;
    esac
  fi
fi

tag=$(sh infra/hooks/agent-image.sh tag)
azd env set AGENT_IMAGE_TAG "$tag"
echo "Agent image tag: $tag"
windows_tag=$(node infra/agent/windows/acr-build.mjs tag)
azd env set AGENT_IMAGE_TAG_WINDOWS "$windows_tag"
echo "Windows agent image tag: $windows_tag"

# An earlier provision left the registry (its name is in the azd environment): build a new tag now,
# before this provision points POOLS at it, so no pass ever asks for an image that is not there.
# On a first deploy there is no registry yet: postprovision builds, before azd deploys the app.
if [ -n "${AZURE_CONTAINER_REGISTRY_NAME:-}" ]; then
  AGENT_IMAGE_TAG="$tag" sh infra/hooks/agent-image.sh build
  AGENT_IMAGE_TAG_WINDOWS="$windows_tag" node infra/agent/windows/acr-build.mjs build
fi
