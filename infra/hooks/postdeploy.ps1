# azd postdeploy hook on Windows: the same message as postdeploy.sh.
$ErrorActionPreference = 'Stop'
$pat = 'TO DO'
az keyvault secret show --vault-name $env:AZURE_KEY_VAULT_NAME --name $env:AZP_TOKEN_SECRET_NAME --query id --output tsv *> $null
if ($LASTEXITCODE -eq 0) { $pat = 'done (the secret exists)' }
Write-Host @"

What is left to do (infra/README.md):
  Step 2, store the Azure DevOps PAT: $pat
    `$pat = Read-Host -AsSecureString; az keyvault secret set --vault-name $($env:AZURE_KEY_VAULT_NAME) --name $($env:AZP_TOKEN_SECRET_NAME) --value (ConvertFrom-SecureString `$pat -AsPlainText) --output none
  Step 3, create the service hook (Project settings > Service hooks > Web Hooks, "Run job state changed"):
    URL:      $($env:AZURE_FUNCTION_URL)/api/servicehook?code=<key>
    key:      az functionapp function keys list -g $($env:AZURE_RESOURCE_GROUP) -n $($env:AZURE_FUNCTION_APP_NAME) --function-name servicehook --query default -o tsv
    user:     $($env:WEBHOOK_USERNAME)
    password: az keyvault secret show --vault-name $($env:AZURE_KEY_VAULT_NAME) --name $($env:WEBHOOK_PASSWORD_SECRET_NAME) --query value -o tsv
"@
