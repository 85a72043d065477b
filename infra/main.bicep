// The video face recognition service on Azure: a Function App on the Flex Consumption plan (Python 3.11),
// its Storage account (the app's containers and queues, plus the deployment package container), a
// user-assigned managed identity holding every data role (no storage key anywhere: shared keys are off),
// Application Insights (Entra authentication), and optionally an Azure AI Face resource.
// Resource group scope, so `azd up` and `az deployment group create` deploy the same file.
// tests/test_infra.py checks this file against the code: app settings, containers, queues, parameters.

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd sets it); it seeds the unique resource names.')
param environmentName string

@description('Region of every resource. It must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@secure()
@description('Key every request to the service must carry (FACE_API_KEY); several comma-separated while rotating.')
param faceApiKey string

@allowed(['local', 'dlib', 'azure'])
@description('FACE_ENGINE: local (offline, on the Function App\'s CPU), dlib (the reference), azure (Azure AI Face).')
param faceEngine string = 'local'

@allowed(['blazeface', 'blazeface-small', 'hog', 'cnn'])
@description('FACE_DETECTOR of the local engines.')
param faceDetector string = 'blazeface'

@description('Also create an Azure AI Face resource (for FACE_ENGINE=azure); identification needs Limited Access approval.')
param deployFace bool = false

@allowed(['F0', 'S0'])
@description('Pricing tier of the Face resource: F0 is free with low limits (one per subscription), S0 pays per call.')
param faceSku string = 'S0'

@description('Endpoint of an existing Face resource, when deployFace is false and FACE_ENGINE is azure.')
param azureFaceEndpoint string = ''

@secure()
@description('Key of the Face resource (AZURE_FACE_KEY). Empty: the app signs in with its managed identity, and a Face resource deployed here has its keys turned off.')
param azureFaceKey string = ''

@description('AZURE_FACE_DETECTION_MODEL of the Azure engine.')
param azureFaceDetectionModel string = 'detection_03'

@description('AZURE_FACE_RECOGNITION_MODEL of the Azure engine.')
param azureFaceRecognitionModel string = 'recognition_04'

@description('Most instances the plan may scale out to (each bills only while it runs).')
param maximumInstanceCount int = 40

@allowed([2048, 4096])
@description('Memory of each instance, in MB. The local engine needs about 320 MB, so 2048 leaves room for 4 threads.')
param instanceMemoryMB int = 2048

@minValue(0)
@description('Days visit records and their index rows are kept (VISIT_RETENTION_DAYS); 0: for ever.')
param visitRetentionDays int = 90

@minValue(0)
@description('Days visit snapshots are kept (SNAPSHOT_RETENTION_DAYS; the daily timer deletes them); 0: as long as the visit.')
param snapshotRetentionDays int = 30

@minValue(0)
@description('Days per-frame records are kept (FRAME_RECORD_RETENTION_DAYS); 0: for ever.')
param frameRecordRetentionDays int = 7

@minValue(0)
@description('Days the visit events log is kept (EVENT_RETENTION_DAYS); 0: for ever.')
param eventRetentionDays int = 30

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }

var functionAppName = 'func-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var faceAccountName = 'face-${resourceToken}'
// A custom subdomain gives the Face resource this endpoint, which Microsoft Entra sign-in requires.
var deployedFaceEndpoint = 'https://${faceAccountName}.cognitiveservices.azure.com/'

// Flex Consumption pulls the app's package from this container, with the managed identity.
var deploymentContainerName = 'deploymentpackage'
// Every container and queue the code uses (tests/test_infra.py imports the names from the code).
var appContainers = [
  'facegroups'
  'persongroups'
  'faceids'
  'sightings'
  'visits'
  'cameras'
  'events'
  'enrollments'
  'webhooks'
]
// The visit index (function_app/visits/table_index.py).
var appTables = [
  'visits'
]
var appQueues = [
  'train-requests'
  'train-requests-poison'
  'enroll-requests'
  'enroll-requests-poison'
  'unknown-visits'
  'unknown-visits-poison'
  'visit-events'
  'visit-events-poison'
  'webhook-deliveries'
  'webhook-deliveries-poison'
]

// Built-in role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  cognitiveServicesUser: 'a97b65f3-24c7-4388-baec-2e87135dc908'
}
// Blob: the app's data, the host's leases and the deployment package. Queue: the work queues and their
// triggers. Table: the visit index, and the Functions host keeps diagnostic events there.
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${resourceToken}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // No keys: the app and the Functions host sign in with the managed identity.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = [
  for name in concat(appContainers, [deploymentContainerName]): {
    parent: blobService
    name: name
    properties: { publicAccess: 'None' }
  }
]

// Retention on Azure: the storage account deletes the dated blobs itself, by their last modification (a day's
// folder is written on that day, a visit's record last when it closes), as the settings of the same names say; the
// app's daily timer (function_app/retention.py) deletes the visit index rows and the snapshots, which no prefix
// selects (they lie beside the records), and anything the policy has not reached yet. A 0 keeps for ever: no rule.
var retentionRules = [
  { container: 'visits', days: visitRetentionDays }
  { container: 'sightings', days: frameRecordRetentionDays }
  { container: 'events', days: eventRetentionDays }
]
var activeRetentionRules = filter(retentionRules, rule => rule.days > 0)

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-01-01' = if (!empty(activeRetentionRules)) {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        for rule in activeRetentionRules: {
          name: 'delete-old-${rule.container}'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob', 'appendBlob']
              prefixMatch: ['${rule.container}/']
            }
            actions: {
              baseBlob: {
                delete: { daysAfterModificationGreaterThan: rule.days }
              }
            }
          }
        }
      ]
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-01-01' = [
  for name in appQueues: {
    parent: queueService
    name: name
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-01-01' = [
  for name in appTables: {
    parent: tableService
    name: name
  }
]

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoles: {
    name: guid(storage.id, identity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry is accepted from Microsoft Entra identities only (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    DisableLocalAuth: true
  }
}

resource appInsightsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource face 'Microsoft.CognitiveServices/accounts@2023-05-01' = if (deployFace) {
  name: faceAccountName
  location: location
  tags: tags
  kind: 'Face'
  sku: { name: faceSku }
  properties: {
    customSubDomainName: faceAccountName
    publicNetworkAccess: 'Enabled'
    // Without a key the app signs in with its managed identity (Cognitive Services User, below), so the
    // resource's keys are turned off; they stay on only for a deployment that passes one.
    disableLocalAuth: empty(azureFaceKey)
  }
}

resource faceRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deployFace) {
  name: guid(resourceGroup().id, faceAccountName, identity.id, roles.cognitiveServicesUser)
  scope: face
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  // azd finds the service's app by this tag (azure.yaml: services.api).
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Flex Consumption: runtime, scale and package come from here, not from FUNCTIONS_WORKER_RUNTIME,
    // FUNCTIONS_EXTENSION_VERSION or WEBSITE_RUN_FROM_PACKAGE app settings (which it refuses).
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      // One { name, value } per setting: tests/test_infra.py compares these names with Settings.documented().
      appSettings: [
        // -- the service's settings (function_app/settings.py) --
        {
          name: 'FACE_ENGINE'
          value: faceEngine
        }
        {
          name: 'FACE_DETECTOR'
          value: faceDetector
        }
        {
          name: 'FACE_DETECT_UPSAMPLE'
          value: '1'
        }
        {
          name: 'FACE_DETECT_MAX_SIDE'
          value: '1280'
        }
        // The package is read-only on Flex Consumption; /tmp is writable (the ONNX model is built there once per instance).
        {
          name: 'FACE_MODEL_CACHE_DIR'
          value: '/tmp/video-face-recognition'
        }
        {
          name: 'FACE_SECOND_NETWORK'
          value: 'faceres'
        }
        {
          name: 'FACE_LANDMARK_MODEL'
          value: '5-point'
        }
        {
          name: 'FACE_MIN_SIZE'
          value: '36'
        }
        {
          name: 'FACE_MATCH_RULE'
          value: 'calibrated'
        }
        {
          name: 'FACE_MATCH_THRESHOLD'
          value: '0.4'
        }
        {
          name: 'FACE_APPROXIMATE_SEARCH_FROM'
          value: '20000'
        }
        {
          name: 'FACE_MAX_IMAGE_BYTES'
          value: '6291456'
        }
        {
          name: 'FACE_MAX_IMAGE_SIDE'
          value: '8192'
        }
        {
          name: 'FACE_IMAGE_URL_ALLOWED_HOSTS'
          value: ''
        }
        {
          name: 'FACE_IMAGE_URL_TIMEOUT'
          value: '10.0'
        }
        {
          name: 'TRACK_GAP_SECONDS'
          value: '2.0'
        }
        {
          name: 'TRACK_MIN_FRAMES'
          value: '3'
        }
        {
          name: 'TRACK_IDENTIFY_SECONDS'
          value: '2.0'
        }
        {
          name: 'VISIT_CLOSE_SECONDS'
          value: '30.0'
        }
        {
          name: 'VISIT_WRITE_SECONDS'
          value: '10.0'
        }
        {
          name: 'UNKNOWN_VISIT_RETENTION_DAYS'
          value: '30'
        }
        {
          name: 'VISIT_RETENTION_DAYS'
          value: string(visitRetentionDays)
        }
        {
          name: 'SNAPSHOT_RETENTION_DAYS'
          value: string(snapshotRetentionDays)
        }
        {
          name: 'FRAME_RECORD_RETENTION_DAYS'
          value: string(frameRecordRetentionDays)
        }
        {
          name: 'EVENT_RETENTION_DAYS'
          value: string(eventRetentionDays)
        }
        {
          name: 'FRAME_RECORDS'
          value: 'off'
        }
        {
          // In memory, per instance: a camera's frames may land on another instance (README: The web page).
          name: 'LATEST_FRAMES'
          value: 'on'
        }
        {
          name: 'LATEST_FRAME_SECONDS'
          value: '60.0'
        }
        {
          name: 'LATEST_FRAME_CAMERAS'
          value: '64'
        }
        {
          // In Azure a private address is the service's own network: webhooks post to public addresses only.
          name: 'WEBHOOK_ALLOW_PRIVATE'
          value: 'off'
        }
        {
          name: 'WEBHOOK_RETRY_SECONDS'
          value: '5,30,120,600,3600'
        }
        {
          name: 'WEBHOOK_TIMEOUT_SECONDS'
          value: '10.0'
        }
        {
          name: 'STORAGE_BACKEND'
          value: 'azure'
        }
        // Unused with the azure backend; set so no setting is left to chance.
        {
          name: 'STORAGE_DIR'
          value: '/tmp/face-data'
        }
        // Empty on purpose: storage is reached with the identity below, never with a key.
        {
          name: 'AZURE_STORAGE_CONNECTION_STRING'
          value: ''
        }
        {
          name: 'AZURE_STORAGE_ACCOUNT_NAME'
          value: storage.name
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'FACE_API_KEY'
          value: faceApiKey
        }
        {
          name: 'AZURE_FACE_ENDPOINT'
          value: deployFace ? deployedFaceEndpoint : azureFaceEndpoint
        }
        {
          name: 'AZURE_FACE_KEY'
          value: azureFaceKey
        }
        {
          name: 'AZURE_FACE_DETECTION_MODEL'
          value: azureFaceDetectionModel
        }
        {
          name: 'AZURE_FACE_RECOGNITION_MODEL'
          value: azureFaceRecognitionModel
        }
        // -- the Functions host --
        // function_app.py would clash with the function_app package.
        {
          name: 'PYTHON_SCRIPT_FILE_NAME'
          value: 'functions_entry.py'
        }
        // The host's storage (queue triggers, timer leases) with the user-assigned identity, no key.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
      ]
    }
  }
  // The host starts reading its queues at once: let it find its roles in place.
  dependsOn: [
    storageRoleAssignments
    appInsightsRoleAssignment
    containers
    queues
  ]
}

output FACE_ENDPOINT string = 'https://${functionApp.properties.defaultHostName}'
output AZURE_FUNCTION_APP_NAME string = functionApp.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.properties.clientId
output AZURE_FACE_RESOURCE_ENDPOINT string = deployFace ? deployedFaceEndpoint : azureFaceEndpoint
output APPLICATIONINSIGHTS_NAME string = appInsights.name
