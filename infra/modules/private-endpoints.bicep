// Optional private networking (privateNetworking=true): private endpoints in the VNet's
// private-endpoints subnet for Key Vault, the storage account (blob, queue, table) and the
// registry, each with its privatelink DNS zone linked to the VNet. The resources themselves turn
// public network access off (keyvault.bicep, storage.bicep, registry.bicep).
param location string
param tags object = {}
param vnetId string
param subnetId string
param keyVaultId string
param storageAccountId string
param registryId string

var targets = [
  { name: 'kv', id: keyVaultId, group: 'vault', zone: 'privatelink.vaultcore.azure.net' }
  { name: 'blob', id: storageAccountId, group: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}' }
  { name: 'queue', id: storageAccountId, group: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}' }
  { name: 'table', id: storageAccountId, group: 'table', zone: 'privatelink.table.${environment().suffixes.storage}' }
  { name: 'acr', id: registryId, group: 'registry', zone: 'privatelink.azurecr.io' }
]

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for t in targets: {
    name: t.zone
    location: 'global'
    tags: tags
  }
]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for (t, i) in targets: {
    parent: zones[i]
    name: 'agents-vnet'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnetId
      }
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [
  for t in targets: {
    name: 'pe-${t.name}-${uniqueString(t.id)}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetId
      }
      privateLinkServiceConnections: [
        {
          name: t.name
          properties: {
            privateLinkServiceId: t.id
            groupIds: [t.group]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [
  for (t, i) in targets: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: t.name
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]
