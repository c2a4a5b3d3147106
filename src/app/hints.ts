/**
 * What to do about the failures a first run meets most, read from an error's text (the CLI only
 * has the text of a pass result). Each hint names the command or setting that fixes it.
 */
export interface Hint {
  /** A short name for tests and JSON output. */
  id: string;
  text: string;
}

const RULES: Array<{ id: string; test: RegExp; text: string }> = [
  {
    id: 'azure-credential',
    test: /no Azure credential|AggregateAuthenticationError|CredentialUnavailableError|DefaultAzureCredential|ChainedTokenCredential|no token for Key Vault/,
    text:
      'no Azure credential: on a laptop run `az login` (and `az account set --subscription <AZURE_SUBSCRIPTION_ID>`), or set ' +
      'AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET for a service principal; in Azure the app needs its managed identity ' +
      '(AZURE_CLIENT_ID names a user-assigned one)',
  },
  {
    id: 'keyvault-forbidden',
    test: /Key Vault [^\n]*\(status 403/,
    text:
      'Key Vault refused the secret read: give the signed-in identity the "Key Vault Secrets User" role on the vault ' +
      '(`az role assignment create --role "Key Vault Secrets User" --assignee <you> --scope <vault resource id>`); ' +
      "ForbiddenByFirewall means the vault's network rules block this machine",
  },
  {
    id: 'keyvault-name',
    test: /Key Vault [^\n]*\((ENOTFOUND|EAI_AGAIN)\)/,
    text:
      "KEY_VAULT_URL: the vault's name does not resolve: check it (https://NAME.vault.azure.net; " +
      '`az keyvault list --query "[].properties.vaultUri"` lists yours)',
  },
  {
    id: 'keyvault-unreachable',
    test: /Key Vault [^\n]*\((ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\)/,
    text:
      "cannot reach Key Vault at KEY_VAULT_URL: check the URL, this machine's network or proxy (HTTPS_PROXY), and the vault's " +
      'firewall (a vault with public access disabled answers only inside its virtual network)',
  },
  {
    id: 'azdo-unreachable',
    test: /Azure DevOps [^\n]*failed: network error/,
    text:
      "cannot reach Azure DevOps at AZP_URL: check the URL (https://dev.azure.com/ORG, or your Server's collection URL) and " +
      "this machine's network or proxy (HTTPS_PROXY)",
  },
  {
    id: 'arm-unreachable',
    test: /ARM [^\n]*(ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN)/,
    text: "cannot reach ARM at ARM_ENDPOINT (default https://management.azure.com): check the setting and this machine's network or proxy",
  },
  {
    id: 'azdo-signin',
    test: /Azure DevOps [^\n]*failed: 203 /,
    text:
      'Azure DevOps answered with its sign-in page (203): the PAT in Key Vault belongs to another organization, has expired ' +
      'or was revoked, or the organization does not allow PATs; store a PAT of this organization with the Agent Pools (read & manage) ' +
      'scope in the secret AZP_TOKEN_SECRET_NAME names',
  },
  {
    id: 'azdo-unauthorized',
    test: /Azure DevOps [^\n]*failed: 401 /,
    text:
      'Azure DevOps refused the credential (401): with AZP_AUTH=pat, replace the PAT in Key Vault (secret AZP_TOKEN_SECRET_NAME) ' +
      'with one that is valid, of this organization, with the Agent Pools (read & manage) scope; with AZP_AUTH=entra, add the ' +
      'identity to the organization and make it an administrator of the pool',
  },
  {
    id: 'azdo-forbidden',
    test: /Azure DevOps [^\n]*failed: 403 /,
    text: 'Azure DevOps: the identity behind the PAT (or the managed identity) must be an administrator of the agent pool',
  },
  {
    id: 'arm-forbidden',
    test: /ARM [^\n]*auth \((401|403)/,
    text:
      "ARM refused the call: the identity needs the autoscaler's role on ACI_RESOURCE_GROUP (infra/README.md lists the actions); " +
      'a role assignment takes a few minutes to apply',
  },
  {
    id: 'storage-unreachable',
    test: /cannot coordinate the pool|back-off state unavailable: cannot read|ECONNREFUSED 127\.0\.0\.1:10000/,
    text:
      'AzureWebJobsStorage is not reachable: for UseDevelopmentStorage=true start Azurite (README: `func start`), or point ' +
      "AzureWebJobsStorage at the deployment's storage account; `status` also runs without it (unset it), `reconcile` then holds the lease in this process only",
  },
];

/** The hints that apply to an error text, each once, in the order above. */
export function hintsFor(text: string): Hint[] {
  const out = RULES.filter((r) => r.test.test(text)).map(({ id, text: t }) => ({ id, text: t }));
  // A 203 is not also a 401.
  return out.some((h) => h.id === 'azdo-signin') ? out.filter((h) => h.id !== 'azdo-unauthorized') : out;
}
