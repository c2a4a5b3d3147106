# azd postdeploy hook on Windows: the same steps as postdeploy.sh (the PAT, setup-webhook once it is
# stored, then doctor with the app's settings); setup-webhook and doctor never fail the deployment.
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
$pat = 'TO DO'
$patStored = $false
az keyvault secret show --vault-name $env:AZURE_KEY_VAULT_NAME --name $env:AZP_TOKEN_SECRET_NAME --query id --output tsv *> $null
if ($LASTEXITCODE -eq 0) { $pat = 'done (the secret exists)'; $patStored = $true }
Write-Host @"

Step 2, store the Azure DevOps PAT: $pat
    `$pat = Read-Host -AsSecureString; az keyvault secret set --vault-name $($env:AZURE_KEY_VAULT_NAME) --name $($env:AZP_TOKEN_SECRET_NAME) --value (ConvertFrom-SecureString `$pat -AsPlainText) --expires <the PAT's expiry> --output none
"@

$settings = New-TemporaryFile
try {
  $values = @{}
  foreach ($s in (az functionapp config appsettings list --resource-group $env:AZURE_RESOURCE_GROUP --name $env:AZURE_FUNCTION_APP_NAME --output json | ConvertFrom-Json)) {
    $values[$s.name] = [string]$s.value
  }
  @{ IsEncrypted = $false; Values = $values } | ConvertTo-Json -Depth 4 | Set-Content -Path $settings -Encoding utf8
  $key = az functionapp function keys list --resource-group $env:AZURE_RESOURCE_GROUP --name $env:AZURE_FUNCTION_APP_NAME --function-name servicehook --query default --output tsv 2> $null
  $hookUrl = "$($env:AZURE_FUNCTION_URL)/api/servicehook"
  if ($key) { $hookUrl = "$hookUrl`?code=$key" }

  Write-Host ''
  if ($patStored) {
    $env:WEBHOOK_PASSWORD = az keyvault secret show --vault-name $env:AZURE_KEY_VAULT_NAME --name $env:WEBHOOK_PASSWORD_SECRET_NAME --query value --output tsv 2> $null
    Write-Host 'Step 3, the service hook in every project (setup-webhook):'
    npm run --silent cli -- setup-webhook --settings $settings --url $hookUrl
    if ($LASTEXITCODE -ne 0) { Write-Host "setup-webhook did not finish; run it again once the problem above is fixed: npm run cli -- setup-webhook --url `"$($env:AZURE_FUNCTION_URL)/api/servicehook?code=<key>`"" }
    Remove-Item Env:WEBHOOK_PASSWORD
  } else {
    Write-Host "Step 3, the service hook: after step 2, run azd deploy again (or: npm run cli -- setup-webhook --url `"$($env:AZURE_FUNCTION_URL)/api/servicehook?code=<key>`")"
  }

  Write-Host ''
  Write-Host 'doctor (every precondition, read only):'
  npm run --silent cli -- doctor --settings $settings --url $hookUrl
  if ($LASTEXITCODE -ne 0) { Write-Host "doctor found problems: fix the FAIL lines above, then run: npm run cli -- doctor --url `"$($env:AZURE_FUNCTION_URL)/api/servicehook`"" }
  $global:LASTEXITCODE = 0
} finally {
  Remove-Item -Force $settings
}
