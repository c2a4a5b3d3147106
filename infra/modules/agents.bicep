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

var subnetName = 'agents'

// Create/list/delete container groups, attach the pull identity to them, place them in the subnet.
var agentActions = concat(
  [
    'Microsoft.ContainerInstance/containerGroups/*'
    'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'
  ],
  enableVnet ? ['Microsoft.Network/virtualNetworks/subnets/join/action'] : []
)

resource pullIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: pullIdentityName
  location: location
  tags: tags
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = if (enableVnet) {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [vnetAddressPrefix]
    }
    subnets: [
      {
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
    ]
  }
}

resource agentOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'azp-aci-autoscaler-agent-operator')
  properties: {
    // Role names are unique per tenant: the subscription id keeps equal environment names apart.
    roleName: 'Azure Pipelines ACI autoscaler agent operator (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Create, list and delete agent container groups in this resource group, assign the agent pull identity to them and join them to the agent subnet.'
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
output resourceGroupName string = resourceGroup().name
output agentOperatorRoleDefinitionName string = agentOperator.name
