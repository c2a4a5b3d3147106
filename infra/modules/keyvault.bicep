// Key Vault with Azure RBAC. It holds the Azure DevOps PAT and the webhook password; both are
// written by the deployer after `azd provision` (see infra/README.md), never by a template.
param name string
param location string
param tags object = {}
@description('Principal id of the function identity: reads secrets (Key Vault Secrets User), nothing more.')
param readerPrincipalId string
@description('Object id of the person running azd; gets Key Vault Secrets Officer to set the secrets. Empty: none.')
param officerPrincipalId string = ''
@allowed(['User', 'ServicePrincipal', 'Group'])
param officerPrincipalType string = 'User'
@description('Disabled with private networking: reachable only through its private endpoint.')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // A deleted vault (and the PAT in it) can be recovered for 7 days and purged by nobody.
    enablePurgeProtection: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'None'
    }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(officerPrincipalId)) {
  name: guid(vault.id, officerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: officerPrincipalId
    principalType: officerPrincipalType
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
output id string = vault.id
