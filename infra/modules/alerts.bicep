// Alerts and the operator workbook over the autoscaler's telemetry (docs/telemetry.md defines every
// metric and event name used here). The KQL of each alert is loaded from infra/monitoring/*.kql,
// the same files docs/telemetry.md shows; test/infra/telemetry.test.ts holds the three together.
param location string
param tags object = {}
@description('Application Insights component the queries run against (classic tables: customMetrics, traces).')
param applicationInsightsId string
@description('Unique suffix for the rule names.')
param nameSuffix string
@description('E-mail address that receives the alerts. Empty: no action group (alerts still fire and show in the portal).')
param alertEmail string = ''
@description('NCRONTAB of the reconcile timer (SCALE_SCHEDULE): "0 */N * * * *" and "0 * * * * *" give the timer period.')
param scaleSchedule string
@description('Timer period in minutes for the "no successful pass" alert. 0: from scaleSchedule; a schedule of another form then disables that alert.')
@minValue(0)
@maxValue(720)
param timerPeriodMinutes int = 0
@description('Minutes added to the "no successful pass" look-back for Application Insights ingestion delay.')
@minValue(0)
@maxValue(60)
param ingestionDelayMinutes int = 5
@description('Alert when Azure DevOps answered 401/403 more often than this in 15 minutes.')
@minValue(0)
param azdoAuthFailureThreshold int = 0
@description('Alert when one profile has at least this many failed boots within failedBootWindowMinutes.')
@minValue(1)
param failedBootThreshold int = 3
@allowed([15, 30, 60, 120, 360, 1440])
param failedBootWindowMinutes int = 60
@description('Alert when a profile has been backing off for longer than this many minutes.')
@minValue(1)
param backoffAlertMinutes int = 30

// The timer period from the schedule. Every expression here is safe for any input string (ARM may
// evaluate both branches of a conditional): an unknown form yields 0.
var scheduleFields = split(trim(scaleSchedule), ' ')
var scheduleMinute = join(take(skip(scheduleFields, 1), 1), '')
var everyNMinutes = length(scheduleFields) == 6 && first(scheduleFields) == '0' && join(skip(scheduleFields, 2), ' ') == '* * * *'
var minuteStep = scheduleMinute == '*' ? '1' : (startsWith(scheduleMinute, '*/') ? replace(scheduleMinute, '*/', '') : '0')
var derivedPeriod = everyNMinutes ? int(minuteStep) : 0
var timerPeriod = timerPeriodMinutes > 0 ? timerPeriodMinutes : derivedPeriod
var noPassLookback = 3 * max(timerPeriod, 1) + ingestionDelayMinutes
// Window sizes a log search alert accepts; the query narrows it to the look-back itself.
var windowChoices = [5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880]
var noPassWindow = min(filter(windowChoices, w => w >= noPassLookback))
var failedBootWindow = failedBootWindowMinutes < 60 ? 'PT${failedBootWindowMinutes}M' : (failedBootWindowMinutes < 1440 ? 'PT${failedBootWindowMinutes / 60}H' : 'P1D')

var actionGroups = empty(alertEmail) ? [] : [actionGroup.id]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-azp-autoscaler-${nameSuffix}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'azp-scaler'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource azdoAuthAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-azp-azdo-auth-${nameSuffix}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Azure Pipelines autoscaler: Azure DevOps refused the credentials (401/403)'
    description: 'The PAT expired, was revoked, or lacks Agent Pools (Read & manage); with AZP_AUTH=entra the identity lost its pool role. No agents are created until it is fixed (infra/README.md#rotating-the-pat).'
    severity: 1
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../monitoring/azdo-auth-failures.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            {
              name: 'status'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'GreaterThan'
          threshold: azdoAuthFailureThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource failedBootAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-azp-failed-boots-${nameSuffix}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Azure Pipelines autoscaler: agents fail to boot'
    description: 'Container groups of a profile end before their agent comes online (image, registry pull, PAT scope, network). The failed boot log event (azp_autoscaler.failed_boot in traces) carries the state, exit code and log tail.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: failedBootWindowMinutes <= 60 ? 'PT5M' : 'PT15M'
    windowSize: failedBootWindow
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../monitoring/failed-boots.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'failedBoots'
          dimensions: [
            {
              name: 'pool'
              operator: 'Include'
              values: ['*']
            }
            {
              name: 'profile'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'GreaterThanOrEqual'
          threshold: failedBootThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource backoffAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-azp-backoff-${nameSuffix}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Azure Pipelines autoscaler: a profile keeps backing off'
    description: 'Creates of a profile fail for quota or capacity (or throttling) longer than the threshold: raise the ACI quota or move ACI_LOCATION (infra/README.md#regions-and-quota).'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../monitoring/backoff.kql')
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'backoffMinutes'
          dimensions: [
            {
              name: 'pool'
              operator: 'Include'
              values: ['*']
            }
            {
              name: 'profile'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'GreaterThan'
          threshold: backoffAlertMinutes
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource noPassAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-azp-no-pass-${nameSuffix}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Azure Pipelines autoscaler: no successful pass for 3 timer periods'
    description: 'No reconcile pass succeeded for ${3 * max(timerPeriod, 1)} minutes (3 timer periods) plus ${ingestionDelayMinutes} minutes of ingestion delay: the app is down, cannot read its settings or secrets, or every pass fails (see the azp_autoscaler.pass events in traces). Pool "(any pool)": no pass at all.'
    severity: 1
    enabled: timerPeriod > 0
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: noPassWindow < 60 ? 'PT${noPassWindow}M' : (noPassWindow < 1440 ? 'PT${noPassWindow / 60}H' : 'P${noPassWindow / 1440}D')
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: 'let lookback = ${noPassLookback}m;\n${loadTextContent('../monitoring/no-successful-pass.kql')}'
          timeAggregation: 'Total'
          metricMeasureColumn: 'okPasses'
          dimensions: [
            {
              name: 'pool'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

// The workbook: loadJsonContent keeps its JSON in one file; the component becomes its default resource.
var workbookContent = loadJsonContent('../monitoring/workbook.json')

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'azp-autoscaler-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Azure Pipelines ACI autoscaler'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: string(union(workbookContent, { fallbackResourceIds: [applicationInsightsId] }))
  }
}

output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
output workbookId string = workbook.id
output noPassLookbackMinutes int = noPassLookback
