// The Functions host storage (AzureWebJobsStorage) and the Flex Consumption deployment container.
// Shared-key access is off: the host, the deploy and the pool lease all use the managed identity.
param name string
param location string
param tags object = {}
param deploymentContainerName string
@description('Principal id of the function identity (host storage, deployment package, pool lease).')
param functionPrincipalId string
@description('Disabled with private networking: reachable only through its private endpoints.')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'None'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
    }
  }
}

// Blob only: the host's timer and singleton locks, the deployment package, and the autoscaler's
// per-pool lease and back-off blobs (src/reconcile). Nothing here uses queues or tables.
// NOTE (issue 15): the webhook hand-off through a Storage queue adds Storage Queue Data Contributor
// (974c5e8b-45b9-4653-ba55-5f855dd0fb88) here, and to ALLOWED_ROLES in test/infra/bicep.test.ts.
resource dataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in [storageBlobDataOwner]: {
    name: guid(storage.id, functionPrincipalId, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: functionPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
