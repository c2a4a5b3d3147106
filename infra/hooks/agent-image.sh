#!/bin/sh
# The Linux agent image, shared by the preprovision and postprovision hooks.
#   agent-image.sh tag     prints <agent version>-<content hash>: the hash (12 hex) of the build's
#                          inputs only (Dockerfile, .dockerignore and the files it lets into the
#                          context: start.sh, fetch-agent.sh), so a commit that changes none of
#                          them (docs, app code) keeps the tag and rebuilds nothing.
#   agent-image.sh build   builds $AGENT_IMAGE_NAME:$AGENT_IMAGE_TAG in $AZURE_CONTAINER_REGISTRY_NAME
#                          unless the tag is already there. With PRIVATE_NETWORKING=true the
#                          registry refuses ACR's public task agents (network bypass for tasks is
#                          denied by default since June 2025), so the build runs on the dedicated
#                          task agent pool ACR_AGENT_POOL in the VNet (Learn: "Run an ACR task on a
#                          dedicated agent pool", Premium, preview), or the hook stops first and
#                          says how to get one.
set -eu
cd "$(dirname "$0")/../.."

case "${1:-}" in
  tag)
    version=$(sed -n 's/^ARG AGENT_VERSION=\([0-9][0-9.]*\)$/\1/p' infra/agent/Dockerfile | head -n 1)
    if [ -z "$version" ]; then echo "infra/agent/Dockerfile has no pinned ARG AGENT_VERSION=<x.y.z>" >&2; exit 1; fi
    # Line endings normalized: a Windows checkout hashes the same (.gitattributes keeps these LF).
    if command -v sha256sum >/dev/null 2>&1; then sha() { sha256sum; }; else sha() { shasum -a 256; }; fi
    hash=$(for f in Dockerfile .dockerignore start.sh fetch-agent.sh; do printf '%s\n' "$f"; tr -d '\r' < "infra/agent/$f"; done \
      | sha | cut -c1-12)
    echo "$version-$hash"
    ;;
  build)
    image="${AGENT_IMAGE_NAME:-azp-agent}:$AGENT_IMAGE_TAG"
    if az acr repository show --name "$AZURE_CONTAINER_REGISTRY_NAME" --image "$image" --output none >/dev/null 2>&1; then
      echo "Agent image $image already in $AZURE_CONTAINER_REGISTRY_NAME"
      exit 0
    fi
    pool_args=""
    if [ "${PRIVATE_NETWORKING:-false}" = true ]; then
      if [ -z "${ACR_AGENT_POOL:-}" ]; then
        echo "PRIVATE_NETWORKING=true: the registry refuses ACR's public build agents, so the agent image needs a task agent pool in the VNet:" >&2
        echo "  az acr agentpool create --registry $AZURE_CONTAINER_REGISTRY_NAME --name agents --tier S1 --subnet-id <a subnet of the VNet without delegation>" >&2
        echo "  azd env set ACR_AGENT_POOL agents   # then run azd up again (infra/README.md#private-networking)" >&2
        exit 1
      fi
      pool_args="--agent-pool $ACR_AGENT_POOL"
    fi
    # shellcheck disable=SC2086 # pool_args is empty or two words
    az acr build --registry "$AZURE_CONTAINER_REGISTRY_NAME" --image "$image" $pool_args \
      --platform linux/amd64 --target baked --file infra/agent/Dockerfile --output none infra/agent
    ;;
  *) echo "usage: agent-image.sh tag|build" >&2; exit 2 ;;
esac
