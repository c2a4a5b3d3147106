// The Functions host storage (AzureWebJobsStorage) and the Flex Consumption deployment container.
// Shared-key access is off: the host, the deploy and the pool lease all use the managed identity.
param name string
param location string
param tags object = {}
param deploymentContainerName string
@description('Principal id of the function identity (host storage, deployment package, pool lease, reconcile queue).')
param functionPrincipalId string
@description('Disabled with private networking: reachable only through its private endpoints.')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

@description('Queue the webhook hands each valid delivery to; a queue-triggered function runs the passes (docs/webhook.md).')
param reconcileQueueName string = 'azp-reconcile'

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

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

  resource queueServices 'queueServices' = {
    name: 'default'

    // The webhook's hand-off. The Functions host moves a message to '<queue>-poison' after
    // maxDequeueCount failed attempts (host.json extensions.queues, default 5); both exist from
    // the start so that the poison queue is visible (and countable) before the first failure.
    resource reconcileQueue 'queues' = {
      name: reconcileQueueName
    }

    resource reconcilePoisonQueue 'queues' = {
      name: '${reconcileQueueName}-poison'
    }
  }
}

// Blob: the host's timer and singleton locks, the deployment package, and the autoscaler's per-pool
// lease and back-off blobs (src/reconcile). Queue: the webhook puts deliveries on the reconcile
// queue and the queue trigger reads, deletes and (after maxDequeueCount) moves them to the poison
// queue — Storage Queue Data Contributor covers send, read, delete (infra/README.md lists the calls).
// Nothing uses tables.
resource dataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in [storageBlobDataOwner, storageQueueDataContributor]: {
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
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output reconcileQueueName string = storage::queueServices::reconcileQueue.name
