// Deployed into the agents resource group, which holds only what the autoscaler creates and uses:
// the agent container groups, the agents' registry pull identity and (optionally) their VNet.
// The function identity gets one custom role here, limited to exactly what it needs.
param location string
param tags object = {}
param pullIdentityName string
@description('Principal id of the function (autoscaler) identity.')
param autoscalerPrincipalId string
param enableVnet bool = false
param vnetName string = ''
param vnetAddressPrefix string = '10.60.0.0/16'
param agentSubnetPrefix string = '10.60.0.0/24'
@description('Also create the subnets of private networking: functions (Flex Consumption VNet integration) and private-endpoints.')
param privateNetworking bool = false
param functionsSubnetPrefix string = '10.60.1.0/24'
param privateEndpointSubnetPrefix string = '10.60.2.0/24'

var subnetName = 'agents'

// Exactly the calls the autoscaler makes (src/aci/provider.ts); infra/README.md lists each action
// with its call. Not granted: containers/exec/action and containers/attach/action (a shell in a
// running job), restart/start/stop, and every other action of the provider.
var agentActions = concat(
  [
    'Microsoft.ContainerInstance/containerGroups/read' // containerGroups.listByResourceGroup, containerGroups.get
    'Microsoft.ContainerInstance/containerGroups/write' // containerGroups.beginCreateOrUpdate
    'Microsoft.ContainerInstance/containerGroups/delete' // containerGroups.beginDelete
    'Microsoft.ContainerInstance/containerGroups/containers/logs/read' // containers.listLogs (failed boots)
    'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' // create with the pull identity
  ],
  enableVnet ? ['Microsoft.Network/virtualNetworks/subnets/join/action'] : [] // create in the agent subnet
)

resource pullIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: pullIdentityName
  location: location
  tags: tags
}

var agentSubnet = {
  name: subnetName
  properties: {
    addressPrefix: agentSubnetPrefix
    delegations: [
      {
        name: 'aci'
        properties: {
          serviceName: 'Microsoft.ContainerInstance/containerGroups'
        }
      }
    ]
  }
}
var privateSubnets = [
  {
    name: 'functions'
    properties: {
      addressPrefix: functionsSubnetPrefix
      delegations: [
        {
          name: 'flex'
          properties: {
            serviceName: 'Microsoft.App/environments'
          }
        }
      ]
    }
  }
  {
    name: 'private-endpoints'
    properties: {
      addressPrefix: privateEndpointSubnetPrefix
    }
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = if (enableVnet) {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [vnetAddressPrefix]
    }
    subnets: concat([agentSubnet], privateNetworking ? privateSubnets : [])
  }
}

resource agentOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'azp-aci-autoscaler-agent-operator')
  properties: {
    // Role names are unique per tenant: the subscription id keeps equal environment names apart.
    roleName: 'Azure Pipelines ACI autoscaler agent operator (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Create, read, list and delete agent container groups and read their logs in this resource group, assign the agent pull identity to them and join them to the agent subnet. No exec, no attach.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: agentActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource agentOperatorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, autoscalerPrincipalId, agentOperator.id)
  properties: {
    roleDefinitionId: agentOperator.id
    principalId: autoscalerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output pullIdentityId string = pullIdentity.id
output pullIdentityPrincipalId string = pullIdentity.properties.principalId
output subnetId string = enableVnet ? resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, subnetName) : ''
output vnetId string = enableVnet ? resourceId('Microsoft.Network/virtualNetworks', vnetName) : ''
output functionsSubnetId string = enableVnet && privateNetworking ? resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, 'functions') : ''
output privateEndpointSubnetId string = enableVnet && privateNetworking ? resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, 'private-endpoints') : ''
output resourceGroupName string = resourceGroup().name
output agentOperatorRoleDefinitionName string = agentOperator.name
