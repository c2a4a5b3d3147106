#!/bin/sh
# azd preprovision hook (azure.yaml): runs before every `azd provision` / `azd up`.
#  1. Registers every resource provider the deployment and the app use (infra/hooks/providers.txt)
#     and waits until each one is Registered: a fresh subscription otherwise fails every container
#     group create with MissingSubscriptionRegistration.
#  2. Sets AGENT_IMAGE_TAG in the azd environment: <agent version>-<commit>, the agent version read
#     from infra/agent/Dockerfile (the one pinned place). main.parameters.json passes it to Bicep.
# Needs: az (logged in to AZURE_SUBSCRIPTION_ID), azd, git (optional: without it the tag says "nogit").
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
# with "spot": true need an ACI region that offers Spot (infra/README.md#regions).
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
      *) echo "A pool profile sets \"spot\": true, but ACI Spot containers run only in westeurope, eastus2 and westus; set ACI_LOCATION to one of them" >&2; exit 1 ;;
    esac
  fi
fi

version=$(sed -n 's/^ARG AGENT_VERSION=\([0-9][0-9.]*\)$/\1/p' infra/agent/Dockerfile | head -n 1)
if [ -z "$version" ]; then echo "infra/agent/Dockerfile has no pinned ARG AGENT_VERSION=<x.y.z>" >&2; exit 1; fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo nogit)
if [ "$commit" != nogit ] && [ -n "$(git status --porcelain -- infra/agent 2>/dev/null)" ]; then commit="$commit-dirty"; fi
tag="$version-$commit"
azd env set AGENT_IMAGE_TAG "$tag"
echo "Agent image tag: $tag"
