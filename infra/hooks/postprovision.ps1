# azd postprovision hook on Windows: the same steps as postprovision.sh (read that file's comments).
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
# Agent image (agent-image.ps1: skipped when the tag exists, e.g. built by preprovision).
& (Join-Path $PSScriptRoot 'agent-image.ps1') build
# Windows agent image (AGENT_IMAGE_TAG_WINDOWS), only when AZP_WINDOWS_AGENT_SHA256 is set; skipped when the tag exists.
node infra/agent/windows/acr-build.mjs build
if ($LASTEXITCODE -ne 0) { throw 'Windows agent image build failed' }
for ($i = 0; $i -lt 10; $i++) {
  az keyvault secret show --vault-name $env:AZURE_KEY_VAULT_NAME --name $env:WEBHOOK_PASSWORD_SECRET_NAME --query id --output tsv *> $null
  if ($LASTEXITCODE -eq 0) { break }
  $bytes = [byte[]]::new(32); [System.Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
  az keyvault secret set --vault-name $env:AZURE_KEY_VAULT_NAME --name $env:WEBHOOK_PASSWORD_SECRET_NAME --value ([Convert]::ToHexString($bytes).ToLower()) --output none *> $null
  if ($LASTEXITCODE -eq 0) { break }
  if ($i -eq 9) { throw "could not create the secret $env:WEBHOOK_PASSWORD_SECRET_NAME in $env:AZURE_KEY_VAULT_NAME" }
  Start-Sleep -Seconds 30
}
$arm = az cloud show --query endpoints.resourceManager --output tsv
if ($LASTEXITCODE -ne 0 -or -not $arm) { $arm = 'https://management.azure.com/' }
az rest --method post --output none --url "$($arm.TrimEnd('/'))$($env:AZURE_FUNCTION_APP_ID)/config/configreferences/appsettings/refresh?api-version=2022-03-01"
if ($LASTEXITCODE -ne 0) { throw 'refreshing the Key Vault references failed' }
Write-Host "Key Vault references of $env:AZURE_FUNCTION_APP_NAME refreshed"
