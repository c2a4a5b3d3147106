# azd preprovision hook on Windows: the same steps as preprovision.sh (read that file's comments).
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
$sub = @(); if ($env:AZURE_SUBSCRIPTION_ID) { $sub = @('--subscription', $env:AZURE_SUBSCRIPTION_ID) }
$providers = Get-Content infra/hooks/providers.txt | Where-Object { $_ -notmatch '^\s*(#|$)' } | ForEach-Object { $_.Trim() }
function Get-State($ns) { $s = az provider show @sub --namespace $ns --query registrationState --output tsv 2>$null; if ($LASTEXITCODE -ne 0) { 'Unknown' } else { $s } }
$pending = @()
foreach ($ns in $providers) {
  if ((Get-State $ns) -ne 'Registered') {
    Write-Host "Registering resource provider $ns"
    az provider register @sub --namespace $ns --output none
    if ($LASTEXITCODE -ne 0) { throw "az provider register $ns failed" }
    $pending += $ns
  }
}
$wait = if ($env:PROVIDER_WAIT_SECONDS) { [int]$env:PROVIDER_WAIT_SECONDS } else { 900 }
$deadline = (Get-Date).AddSeconds($wait)
foreach ($ns in $pending) {
  while ((Get-State $ns) -ne 'Registered') {
    if ((Get-Date) -ge $deadline) { throw "Resource provider $ns is still not Registered; retry later or run: az provider register --namespace $ns --wait" }
    Start-Sleep -Seconds 10
  }
  Write-Host "Resource provider ${ns}: Registered"
}
if ($env:SKIP_REGION_CHECKS -ne '1' -and $env:AZURE_LOCATION) {
  $loc = ($env:AZURE_LOCATION -replace '\s', '').ToLower()
  $flex = @(az functionapp list-flexconsumption-locations --query '[].name' --output tsv | ForEach-Object { ($_ -replace '\s', '').ToLower() })
  if ($flex -notcontains $loc) { throw "AZURE_LOCATION=$($env:AZURE_LOCATION) has no Flex Consumption plan. Regions that have it: $($flex -join ' ')" }
  $aciLoc = if ($env:ACI_LOCATION) { $env:ACI_LOCATION } else { $env:AZURE_LOCATION }
  $aci = ($aciLoc -replace '\s', '').ToLower()
  if ((Select-String -Path infra/main.parameters.json -Pattern '"spot"\s*:\s*true' -Quiet) -and @('westeurope', 'eastus2', 'westus') -notcontains $aci) {
    # A warning, not a refusal (preprovision.sh says why).
    Write-Warning "a pool profile sets `"spot`": true; ACI Spot containers were documented (2023 preview) only in westeurope, eastus2 and westus, not $($aci): give the profile a {`"spot`": false} fallback, or set ACI_LOCATION to one of them"
  }
}
$tag = & (Join-Path $PSScriptRoot 'agent-image.ps1') tag
azd env set AGENT_IMAGE_TAG $tag
if ($LASTEXITCODE -ne 0) { throw 'azd env set failed' }
Write-Host "Agent image tag: $tag"
$windowsTag = node infra/agent/windows/acr-build.mjs tag
if ($LASTEXITCODE -ne 0 -or -not $windowsTag) { throw 'computing the Windows agent image tag failed' }
azd env set AGENT_IMAGE_TAG_WINDOWS $windowsTag
if ($LASTEXITCODE -ne 0) { throw 'azd env set failed' }
Write-Host "Windows agent image tag: $windowsTag"
# Not the first deploy (the registry exists): build the new tags before provision points POOLS at them.
if ($env:AZURE_CONTAINER_REGISTRY_NAME) {
  $env:AGENT_IMAGE_TAG = $tag
  & (Join-Path $PSScriptRoot 'agent-image.ps1') build
  $env:AGENT_IMAGE_TAG_WINDOWS = $windowsTag
  node infra/agent/windows/acr-build.mjs build
  if ($LASTEXITCODE -ne 0) { throw 'Windows agent image build failed' }
}
