// azp-aci-autoscaler: one `azd up` deploys the autoscaler (Flex Consumption Function App) and
// everything it needs, with managed identities and least-privilege role assignments only.
// Verified offline by test/infra/bicep.test.ts (parse + structure); see infra/README.md.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; part of the resource group names and of every tag.')
param environmentName string

@minLength(1)
@description('Region of the Function App and every other resource: must be a Flex Consumption region (`az functionapp list-flexconsumption-locations`; the preprovision hook checks it).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Region of the agent container groups (ACI_LOCATION). Empty: `location`. Profiles with "spot": true need a region where ACI offers Spot (infra/README.md#regions).')
param aciLocation string = ''

@description('Object id of the deployer (azd sets AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer on the vault so the secrets can be set. Empty: no assignment.')
param principalId string = ''
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('Azure DevOps organization URL (https://dev.azure.com/ORG) or Server collection URL.')
param azpUrl string
@allowed(['pat', 'entra'])
param azpAuth string = 'pat'
@description('Name of the Key Vault secret that holds the Azure DevOps PAT (set after provisioning).')
param azpTokenSecretName string = 'azp-token'
@description('Basic-auth user name the service-hook subscription sends.')
param webhookUsername string = 'azp-hook'
@description('Name of the Key Vault secret that holds the webhook password (the postprovision hook creates it).')
param webhookPasswordSecretName string = 'webhook-password'
@description('NCRONTAB (6 fields) of the reconcile timer.')
param scaleSchedule string = '0 */1 * * * *'
@description('Ownership id tagged on every container group. Empty: derived from the environment.')
param autoscalerId string = ''
param dryRun bool = false

@description('Pool profiles (src/config/schema.ts profileSchema). A profile without "image" runs the agent image from this registry, pulled with the agent identity.')
param pools array

param agentImageName string = 'azp-agent'
@minLength(1)
@description('Tag of the Linux agent image: <agent version>-<hash of its inputs>, set by the preprovision hook (AGENT_IMAGE_TAG). Never "latest".')
param agentImageTag string

@minLength(1)
@description('Tag of the Windows agent image: <agent version>-<hash of its own inputs>-windows, set by the preprovision hook (AGENT_IMAGE_TAG_WINDOWS; infra/agent/windows/acr-build.mjs tag). Never "latest".')
param agentImageTagWindows string

@description('Create a VNet with a subnet delegated to Microsoft.ContainerInstance/containerGroups and place agents in it.')
param enableVnet bool = false
param vnetAddressPrefix string = '10.60.0.0/16'
param agentSubnetPrefix string = '10.60.0.0/24'
@description('Private endpoints for Key Vault, storage and the registry, public network access off on all three, Function App VNet integration (implies enableVnet). The azd hooks and the package upload must then run from a network that reaches the VNet (infra/README.md#private-networking).')
param privateNetworking bool = false

@allowed([2048, 4096])
param instanceMemoryMB int = 2048
@description('Flex Consumption accepts 40 to 1000.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('E-mail address for the alerts (infra/modules/alerts.bicep, docs/telemetry.md#alerts). Empty: no action group; the alerts still fire in the portal.')
param alertEmail string = ''
@description('Timer period (minutes) for the "no successful pass for 3 timer periods" alert. 0: derived from scaleSchedule ("0 */N * * * *").')
@minValue(0)
@maxValue(720)
param alertTimerPeriodMinutes int = 0
@description('Alert when a profile has been backing off (quota, capacity) for longer than this many minutes.')
@minValue(1)
param alertBackoffMinutes int = 30
@description('Alert when one profile has at least this many failed boots within alertFailedBootWindowMinutes.')
@minValue(1)
param alertFailedBootThreshold int = 3
@allowed([15, 30, 60, 120, 360, 1440])
param alertFailedBootWindowMinutes int = 60
@description('Alert when Azure DevOps answered 401/403 more often than this in 15 minutes (0: any).')
@minValue(0)
param alertAzdoAuthFailureThreshold int = 0
@description('Minutes the "no successful pass" alert adds to its look-back for Application Insights ingestion delay.')
@minValue(0)
@maxValue(60)
param alertIngestionDelayMinutes int = 5

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var agentsLocation = empty(aciLocation) ? location : aciLocation
var vnetOn = enableVnet || privateNetworking
var publicNetworkAccess = privateNetworking ? 'Disabled' : 'Enabled'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// Agents live in their own resource group so that the autoscaler's role there touches nothing else.
resource agentsRg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}-agents'
  location: location
  tags: tags
}

module functionIdentity 'modules/identity.bicep' = {
  name: 'functionIdentity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}func-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: functionIdentity.outputs.principalId
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    nameSuffix: resourceToken
    alertEmail: alertEmail
    scaleSchedule: scaleSchedule
    timerPeriodMinutes: alertTimerPeriodMinutes
    ingestionDelayMinutes: alertIngestionDelayMinutes
    azdoAuthFailureThreshold: alertAzdoAuthFailureThreshold
    backoffAlertMinutes: alertBackoffMinutes
    failedBootThreshold: alertFailedBootThreshold
    failedBootWindowMinutes: alertFailedBootWindowMinutes
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    functionPrincipalId: functionIdentity.outputs.principalId
    publicNetworkAccess: publicNetworkAccess
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    readerPrincipalId: functionIdentity.outputs.principalId
    officerPrincipalId: principalId
    officerPrincipalType: principalType
    publicNetworkAccess: publicNetworkAccess
  }
}

module agents 'modules/agents.bicep' = {
  name: 'agents'
  scope: agentsRg
  params: {
    location: agentsLocation
    tags: tags
    pullIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}agent-pull-${resourceToken}'
    autoscalerPrincipalId: functionIdentity.outputs.principalId
    enableVnet: vnetOn
    privateNetworking: privateNetworking
    vnetName: '${abbrs.networkVirtualNetworks}agents-${resourceToken}'
    vnetAddressPrefix: vnetAddressPrefix
    agentSubnetPrefix: agentSubnetPrefix
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: '${abbrs.containerRegistryRegistries}${resourceToken}'
    location: location
    tags: tags
    pullPrincipalId: agents.outputs.pullIdentityPrincipalId
    publicNetworkAccess: publicNetworkAccess
  }
}

module privateEndpoints 'modules/private-endpoints.bicep' = if (privateNetworking) {
  name: 'privateEndpoints'
  scope: rg
  params: {
    location: agentsLocation
    tags: tags
    vnetId: agents.outputs.vnetId
    subnetId: agents.outputs.privateEndpointSubnetId
    keyVaultId: keyVault.outputs.id
    storageAccountId: storage.outputs.id
    registryId: registry.outputs.id
  }
}

var agentImage = '${registry.outputs.loginServer}/${agentImageName}:${agentImageTag}'
// The Windows image has its own content tag (a change to the Linux image leaves it, and the other
// way round); infra/agent/windows/acr-build.mjs builds it when AZP_WINDOWS_AGENT_SHA256 is set
// (infra/agent/README.md).
var agentImageWindows = '${registry.outputs.loginServer}/${agentImageName}:${agentImageTagWindows}'
var agentRegistry = {
  server: registry.outputs.loginServer
  identity: agents.outputs.pullIdentityId
}
// A profile's own values win; profiles without an image get ours (Windows ones the Windows image)
// and its pull identity. With enableVnet only the profiles ACI can place in a virtual network get
// the agent subnet: Linux, not Spot, no Spot fallback and no fallback to another region (the rules
// src/config/schema.ts enforces, from the ACI docs it cites: only Linux container groups join a
// virtual network, Spot ones never, a subnet is regional). Any other profile would make the app
// refuse the whole POOLS, and no pass would run.
var poolProfiles = map(pools, p => union(
  contains(p, 'image') ? {} : { image: (p.?os ?? 'Linux') == 'Windows' ? agentImageWindows : agentImage, registry: agentRegistry },
  vnetOn && !contains(p, 'subnetId') && (p.?os ?? 'Linux') == 'Linux' && !(p.?spot ?? false) && empty(filter(p.?fallback ?? [], f => (f.?spot ?? false) || !empty(f.?location ?? '')))
    ? { subnetId: agents.outputs.subnetId }
    : {},
  p
))

// The autoscaler's settings: names are the contract of src/config/schema.ts.
var appSettings = {
  AZP_URL: azpUrl
  AZP_AUTH: azpAuth
  KEY_VAULT_URL: keyVault.outputs.uri
  AZP_TOKEN_SECRET_NAME: azpTokenSecretName
  AZURE_SUBSCRIPTION_ID: subscription().subscriptionId
  ACI_RESOURCE_GROUP: agentsRg.name
  ACI_LOCATION: agentsLocation
  AZURE_CLIENT_ID: functionIdentity.outputs.clientId
  SCALE_SCHEDULE: scaleSchedule
  DRY_RUN: string(dryRun)
  WEBHOOK_USERNAME: webhookUsername
  WEBHOOK_PASSWORD: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${webhookPasswordSecretName}/)'
  AUTOSCALER_ID: !empty(autoscalerId) ? autoscalerId : 'azd-${resourceToken}'
  POOLS: string(poolProfiles)
}

module function 'modules/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: functionIdentity.outputs.id
    identityClientId: functionIdentity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: appSettings
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    virtualNetworkSubnetId: agents.outputs.functionsSubnetId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output ACI_RESOURCE_GROUP string = agentsRg.name
output SERVICE_API_NAME string = function.outputs.name
output AZURE_FUNCTION_APP_NAME string = function.outputs.name
output AZURE_FUNCTION_APP_ID string = function.outputs.id
output ACI_LOCATION string = agentsLocation
output AZURE_FUNCTION_URL string = 'https://${function.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URL string = keyVault.outputs.uri
output AZP_TOKEN_SECRET_NAME string = azpTokenSecretName
output WEBHOOK_USERNAME string = webhookUsername
output WEBHOOK_PASSWORD_SECRET_NAME string = webhookPasswordSecretName
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AGENT_IMAGE_NAME string = agentImageName
output AGENT_IMAGE_TAG string = agentImageTag
output AGENT_IMAGE_TAG_WINDOWS string = agentImageTagWindows
output AGENT_IMAGE string = agentImage
output AGENT_PULL_IDENTITY_ID string = agents.outputs.pullIdentityId
// Custom role definitions outlive their resource group: `azd down` leaves this one (see infra/README.md).
output AGENT_OPERATOR_ROLE_DEFINITION_NAME string = agents.outputs.agentOperatorRoleDefinitionName
