#!/bin/sh
# azd postdeploy hook (azure.yaml): the last step of `azd up`.
#  1. Says whether the Azure DevOps PAT is stored (step 2 of infra/README.md), and how to store it.
#  2. Once it is: creates or corrects the service hook in every project (setup-webhook, step 3).
#  3. Runs doctor with the app's own settings and prints its result.
# Steps 2 and 3 never fail the deployment: their output says what is wrong and how to fix it.
set -eu
cd "$(dirname "$0")/../.."

pat_state="TO DO"
pat_stored=false
if az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$AZP_TOKEN_SECRET_NAME" --query id --output tsv >/dev/null 2>&1; then
  pat_state="done (the secret exists)"
  pat_stored=true
fi
cat <<MSG

Step 2, store the Azure DevOps PAT: $pat_state
    read -rs PAT && az keyvault secret set --vault-name $AZURE_KEY_VAULT_NAME --name $AZP_TOKEN_SECRET_NAME --value "\$PAT" --expires <the PAT's expiry, e.g. 2027-03-01T00:00:00Z> --output none; unset PAT
MSG

# The app's settings as doctor and setup-webhook read them (a local.settings.json, mode 600, removed on exit).
umask 077
settings=$(mktemp)
trap 'rm -f "$settings"' EXIT
az functionapp config appsettings list --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" --output json \
  | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const v={};for(const x of JSON.parse(s))v[x.name]=String(x.value??"");process.stdout.write(JSON.stringify({IsEncrypted:false,Values:v}))})' \
  > "$settings"

key=$(az functionapp function keys list --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" --function-name servicehook --query default --output tsv 2>/dev/null || true)
hook_url="$AZURE_FUNCTION_URL/api/servicehook${key:+?code=$key}"

echo
if [ "$pat_stored" = true ]; then
  # The webhook password is a Key Vault reference in the app settings: setup-webhook needs the value.
  WEBHOOK_PASSWORD=$(az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$WEBHOOK_PASSWORD_SECRET_NAME" --query value --output tsv 2>/dev/null || true)
  export WEBHOOK_PASSWORD
  export WEBHOOK_USERNAME
  echo "Step 3, the service hook in every project (setup-webhook):"
  npm run --silent cli -- setup-webhook --settings "$settings" --url "$hook_url" \
    || echo "setup-webhook did not finish; run it again once the problem above is fixed: npm run cli -- setup-webhook --url \"$AZURE_FUNCTION_URL/api/servicehook?code=<key>\""
  unset WEBHOOK_PASSWORD
else
  echo "Step 3, the service hook: after step 2, run azd deploy again (or: npm run cli -- setup-webhook --url \"$AZURE_FUNCTION_URL/api/servicehook?code=<key>\")"
fi

echo
echo "doctor (every precondition, read only):"
npm run --silent cli -- doctor --settings "$settings" --url "$hook_url" \
  || echo "doctor found problems: fix the FAIL lines above, then run: npm run cli -- doctor --url \"$AZURE_FUNCTION_URL/api/servicehook\""
