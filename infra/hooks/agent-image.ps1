# The Linux agent image on Windows: the same as agent-image.sh (read that file's comments).
#   agent-image.ps1 tag | build
param([Parameter(Mandatory)][ValidateSet('tag', 'build')][string]$Command)
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
if ($Command -eq 'tag') {
  $version = (Select-String -Path infra/agent/Dockerfile -Pattern '^ARG AGENT_VERSION=([0-9][0-9.]*)$' | Select-Object -First 1).Matches[0].Groups[1].Value
  if (-not $version) { throw 'infra/agent/Dockerfile has no pinned ARG AGENT_VERSION=<x.y.z>' }
  $text = ''
  foreach ($f in 'Dockerfile', '.dockerignore', 'start.sh', 'fetch-agent.sh') {
    $text += "$f`n" + ((Get-Content -Raw "infra/agent/$f") -replace "`r", '')
  }
  $bytes = [System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($text))
  $hash = (-join ($bytes | ForEach-Object { $_.ToString('x2') })).Substring(0, 12)
  Write-Output "$version-$hash"
  exit 0
}
$name = if ($env:AGENT_IMAGE_NAME) { $env:AGENT_IMAGE_NAME } else { 'azp-agent' }
$image = "$($name):$($env:AGENT_IMAGE_TAG)"
az acr repository show --name $env:AZURE_CONTAINER_REGISTRY_NAME --image $image --output none *> $null
if ($LASTEXITCODE -eq 0) { Write-Host "Agent image $image already in $env:AZURE_CONTAINER_REGISTRY_NAME"; exit 0 }
$pool = @()
if ($env:PRIVATE_NETWORKING -eq 'true') {
  if (-not $env:ACR_AGENT_POOL) {
    throw "PRIVATE_NETWORKING=true: the registry refuses ACR's public build agents, so the agent image needs a task agent pool in the VNet: az acr agentpool create --registry $env:AZURE_CONTAINER_REGISTRY_NAME --name agents --tier S1 --subnet-id <a subnet of the VNet without delegation>; azd env set ACR_AGENT_POOL agents; then run azd up again (infra/README.md#private-networking)"
  }
  $pool = @('--agent-pool', $env:ACR_AGENT_POOL)
}
az acr build --registry $env:AZURE_CONTAINER_REGISTRY_NAME --image $image @pool --platform linux/amd64 --target baked --file infra/agent/Dockerfile --output none infra/agent
if ($LASTEXITCODE -ne 0) { throw 'az acr build failed' }
