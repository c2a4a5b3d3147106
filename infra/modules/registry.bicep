// Container registry for the agent image. Admin user and anonymous pull are off: container
// groups pull with the agent pull identity, which holds AcrPull on this registry only.
param name string
param location string
param tags object = {}
@description('Principal id of the identity that agent container groups pull with.')
param pullPrincipalId string
@description('Disabled with private networking (needs the Premium SKU for its private endpoint).')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  // Basic while the registry is public. Learn's "Deploy to ACI from ACR using a managed identity"
  // lists a Premium registry with trusted services as a prerequisite; the page is about a registry
  // behind a private endpoint (its opening), which this template makes Premium with trusted
  // services (networkRuleBypassOptions) too. The pull identity is user-assigned, which the same
  // page requires for Windows containers. `doctor` checks the image pull before the first job.
  sku: {
    name: publicNetworkAccess == 'Enabled' ? 'Basic' : 'Premium'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: publicNetworkAccess
    networkRuleBypassOptions: 'AzureServices'
  }
}

resource pullRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullPrincipalId, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
output id string = registry.id
