#!/bin/sh
# azd postdeploy hook (azure.yaml): the last step of `azd up`. Says exactly what is left to do.
set -eu
pat_state="TO DO"
if az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$AZP_TOKEN_SECRET_NAME" --query id --output tsv >/dev/null 2>&1; then
  pat_state="done (the secret exists)"
fi
cat <<MSG

What is left to do (infra/README.md):
  Step 2, store the Azure DevOps PAT: $pat_state
    read -rs PAT && az keyvault secret set --vault-name $AZURE_KEY_VAULT_NAME --name $AZP_TOKEN_SECRET_NAME --value "\$PAT" --output none; unset PAT
  Step 3, create the service hook (Project settings > Service hooks > Web Hooks, "Run job state changed"):
    URL:      $AZURE_FUNCTION_URL/api/servicehook?code=<key>
    key:      az functionapp function keys list -g $AZURE_RESOURCE_GROUP -n $AZURE_FUNCTION_APP_NAME --function-name servicehook --query default -o tsv
    user:     $WEBHOOK_USERNAME
    password: az keyvault secret show --vault-name $AZURE_KEY_VAULT_NAME --name $WEBHOOK_PASSWORD_SECRET_NAME --query value -o tsv
MSG
