// Function App on the Flex Consumption plan (Node 22) running as a user-assigned identity.
// Host storage and the deployment package are identity-based; no keys or connection strings.
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param storageBlobEndpoint string
param storageQueueEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
@description('The autoscaler settings (see src/config/schema.ts), merged with the host settings below.')
param appSettings object
@allowed([2048, 4096])
param instanceMemoryMB int = 2048
@description('Flex Consumption accepts 40 to 1000 per its plan docs (flex-consumption-plan, instance limits; not re-verified by a deployment here).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40
@description('Subnet (delegated to Microsoft.App/environments) for outbound VNet integration; empty: none.')
param virtualNetworkSubnetId string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // Key Vault references (@Microsoft.KeyVault(...)) resolve with this identity.
    keyVaultReferenceIdentity: identityId
    // No ftpsState: ARM refuses it on a Flex Consumption site in some regions ("... for Flex
    // Consumption sites is invalid", error 51021; Azure/terraform-azurerm-avm-res-web-site#345).
    // FTP is off all the same: the ftp and scm basicPublishingCredentialsPolicies below disallow
    // basic-auth publishing.
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  // Basic (user name + password) publishing credentials off for both FTP and SCM: azd deploys the
  // package to the deployment container with the identity, and nothing else may publish.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: union(appSettings, {
      AzureWebJobsStorage__accountName: storageAccountName
      // Service URIs as well as the account name: the queue trigger and the webhook's queue client
      // use the same identity-based connection (AzureWebJobsStorage), and explicit URIs also hold
      // for sovereign clouds and custom domains, where the account name alone does not.
      AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
      AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    })
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output id string = site.id
