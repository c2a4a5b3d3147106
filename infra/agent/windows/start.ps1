#Requires -Version 5.1
<#
Entrypoint of the azp-aci-autoscaler Windows agent image (infra/agent/windows/Dockerfile).

The Windows twin of infra/agent/start.sh, with the same contract (settings, run modes, exit codes:
infra/agent/README.md, one table for both). Runs on Windows PowerShell 5.1 (Server Core has no
PowerShell 7), so it uses only .NET Framework APIs.

Differences from the seed's start.ps1 ("Run a self-hosted agent in Docker"):
  * the agent is baked into the image; it is downloaded only when none is there (the slim image);
  * the token never reaches a command line or a file of ours: it is read once, removed from the
    process's environment, and handed to config.cmd only in the environment block of that one
    child process (VSTS_AGENT_INPUT_TOKEN), which the agent reads and clears itself;
  * the job never runs under a process that held the token. Windows has no exec, and a container
    lives as long as its first process, which is therefore the one that runs the agent ("main"):
    it never reads a secret. This script runs again in a fresh powershell.exe as the "setup"
    stage, which inherits the environment block as the OS holds it, reads the token, registers the
    agent and exits; main removes the secret variables from its own environment right after
    starting setup and starts run.cmd only once setup has exited. The autoscaler removes the
    registration after the container exits. AZP_UNREGISTER_ON_EXIT=1 keeps the seed's
    unregister-on-exit (for an interactive `docker run` without the autoscaler): main then keeps
    the secret variables in its environment (not in run.cmd's) for an "unregister" stage at exit;
  * a container stop (CTRL_SHUTDOWN_EVENT / CTRL_CLOSE_EVENT / Ctrl+C) stops the agent tree with a
    time limit instead of leaving it to be killed mid-job.
#>
[CmdletBinding()]
param(
  # Arguments of the container, passed on to run.cmd (as the seed does).
  [Parameter(ValueFromRemainingArguments = $true)]
  [string[]] $AgentArgs = @()
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$EX_USAGE = 1            # a setting is missing or wrong, or the agent could not be set up
$EX_CLEANUP_FAILED = 75  # everything worked except unregistering the agent (opt-in only)
$EX_INT = 130            # stopped by Ctrl+C
$EX_TERM = 143           # stopped by the container runtime (shutdown / close event)
$SP_MIN_AGENT_VERSION = [version] '3.227.1'

# Logging never fails the script (a closed stdout must not cut a cleanup short).
function Write-Log([string] $Message) { try { [Console]::Out.WriteLine("[start.ps1] $Message") } catch { $null = $_ } }
function Write-Warn([string] $Message) { try { [Console]::Error.WriteLine("[start.ps1] warning: $Message") } catch { $null = $_ } }
function Write-Err([string] $Message) { try { [Console]::Error.WriteLine("[start.ps1] error: $Message") } catch { $null = $_ } }
function Stop-Usage([string] $Message) {
  Write-Err $Message
  exit $EX_USAGE
}

# ---------------------------------------------------------------------------------------------
# Stages (see the header): main (the container's first process; runs the agent, reads no secret),
# setup (reads the token, registers, exits) and unregister (AZP_UNREGISTER_ON_EXIT=1, at exit).
# _AZP_START_STAGE is internal: it only tells a fresh execution which stage it is.
# ---------------------------------------------------------------------------------------------
$Stage = if ($env:_AZP_START_STAGE) { $env:_AZP_START_STAGE.ToLowerInvariant() } else { 'main' }
[Environment]::SetEnvironmentVariable('_AZP_START_STAGE', $null, 'Process')
if ($Stage -notin @('main', 'setup', 'unregister')) {
  Write-Err '_AZP_START_STAGE is internal to start.ps1'
  exit $EX_USAGE
}

# ---------------------------------------------------------------------------------------------
# Settings: every problem is reported, then exit 1. The secret checks read the secret, so only
# the stages that need it make them (main leaves them to setup, whose exit code it passes on).
# ---------------------------------------------------------------------------------------------
$AzpHome = if ($env:AZP_HOME) { $env:AZP_HOME } else { 'C:\azp' }
$AgentDir = if ($env:AZP_AGENT_DIR) { $env:AZP_AGENT_DIR } else { Join-Path $AzpHome 'agent' }

function Read-SecretFile([string] $Path) {
  return ([IO.File]::ReadAllText($Path)).TrimEnd("`r", "`n")
}

# Adds an error unless the variable (only whether it is set is passed) or the file holds a secret.
function Test-Secret($Errors, [string] $ValueName, [bool] $HasValue, [string] $FileName, [string] $File) {
  if ($File) {
    if (-not (Test-Path -LiteralPath $File -PathType Leaf)) {
      $Errors.Add("$FileName=$File is not a readable file")
    } elseif (-not (Read-SecretFile $File)) {
      $Errors.Add("$FileName=$File is empty")
    }
  } elseif (-not $HasValue) {
    $Errors.Add("missing $ValueName or $FileName environment variable")
  }
}

$errors = New-Object 'System.Collections.Generic.List[string]'
if (-not $env:AZP_URL) { $errors.Add('missing AZP_URL environment variable') }

$Auth = if ($env:AZP_AUTH) { $env:AZP_AUTH.ToLowerInvariant() } else { 'pat' }
switch ($Auth) {
  'pat' {
    if ($Stage -ne 'main') {
      $hasToken = [bool] $env:AZP_TOKEN
      Test-Secret $errors 'AZP_TOKEN' $hasToken 'AZP_TOKEN_FILE' $env:AZP_TOKEN_FILE
    }
  }
  'sp' {
    if (-not $env:AZP_SP_CLIENT_ID) { $errors.Add('missing AZP_SP_CLIENT_ID environment variable (AZP_AUTH=sp)') }
    if (-not $env:AZP_SP_TENANT_ID) { $errors.Add('missing AZP_SP_TENANT_ID environment variable (AZP_AUTH=sp)') }
    if ($Stage -ne 'main') {
      $hasSecret = [bool] $env:AZP_SP_CLIENT_SECRET
      Test-Secret $errors 'AZP_SP_CLIENT_SECRET' $hasSecret 'AZP_SP_CLIENT_SECRET_FILE' $env:AZP_SP_CLIENT_SECRET_FILE
    }
  }
  default { $errors.Add("AZP_AUTH must be 'pat' or 'sp', not '$Auth'") }
}

if ($env:AZP_RUN_MODE) {
  $RunMode = $env:AZP_RUN_MODE.ToLowerInvariant()
} elseif ($env:AZP_AUTOSCALER -eq '1') {
  $RunMode = 'once'
} else {
  $RunMode = 'service'
}
if ($RunMode -notin @('once', 'placeholder', 'service')) {
  $errors.Add("AZP_RUN_MODE must be 'once', 'placeholder' or 'service', not '$RunMode'")
}

$UnregisterOnExit = $false
switch -regex ("$env:AZP_UNREGISTER_ON_EXIT".ToLowerInvariant()) {
  '^(1|true|yes)$' { $UnregisterOnExit = $true }
  '^(|0|false|no)$' { }
  default { $errors.Add("AZP_UNREGISTER_ON_EXIT must be 1 or 0, not '$env:AZP_UNREGISTER_ON_EXIT'") }
}

$numbers = [ordered] @{
  AZP_CLEANUP_RETRIES     = $env:AZP_CLEANUP_RETRIES
  AZP_CLEANUP_RETRY_DELAY = $env:AZP_CLEANUP_RETRY_DELAY
  AZP_CLEANUP_TIMEOUT     = $env:AZP_CLEANUP_TIMEOUT
  AZP_STOP_TIMEOUT        = $env:AZP_STOP_TIMEOUT
  AZP_UPDATE_RESTARTS     = $env:AZP_UPDATE_RESTARTS
  AZP_UPDATE_DELAY        = $env:AZP_UPDATE_DELAY
}
foreach ($name in $numbers.Keys) {
  $value = $numbers[$name]
  if ($value -and $value -notmatch '^[0-9]+$') { $errors.Add("$name must be a whole number, not '$value'") }
}
if ($env:AZP_CLEANUP_RETRIES -eq '0') { $errors.Add('AZP_CLEANUP_RETRIES must be at least 1') }

# config.cmd and run.cmd go through cmd.exe: a double quote in a value could end its quoting.
foreach ($pair in @(@('AZP_URL', $env:AZP_URL), @('AZP_POOL', $env:AZP_POOL), @('AZP_AGENT_NAME', $env:AZP_AGENT_NAME), @('AZP_WORK', $env:AZP_WORK))) {
  if ("$($pair[1])".Contains('"')) { $errors.Add("$($pair[0]) must not contain a double quote") }
}

if ($errors.Count -gt 0) {
  foreach ($e in $errors) { Write-Err $e }
  Write-Err 'see infra/agent/README.md for the settings of this image'
  exit $EX_USAGE
}

function Get-Number([string] $Value, [int] $Default) { if ($Value) { return [int] $Value } else { return $Default } }

$AzpUrl = $env:AZP_URL.TrimEnd('/')
$Pool = if ($env:AZP_POOL) { $env:AZP_POOL } else { 'Default' }
$AgentName = if ($env:AZP_AGENT_NAME) { $env:AZP_AGENT_NAME } elseif ($env:COMPUTERNAME) { $env:COMPUTERNAME } else { 'azp-agent' }
$Work = if ($env:AZP_WORK) { $env:AZP_WORK } else { '_work' }
$CleanupRetries = Get-Number $env:AZP_CLEANUP_RETRIES 3
$CleanupRetryDelay = Get-Number $env:AZP_CLEANUP_RETRY_DELAY 5
$CleanupTimeout = Get-Number $env:AZP_CLEANUP_TIMEOUT 30
$StopTimeout = Get-Number $env:AZP_STOP_TIMEOUT 20
$UpdateRestarts = Get-Number $env:AZP_UPDATE_RESTARTS 3
$UpdateDelay = Get-Number $env:AZP_UPDATE_DELAY 5

# ---------------------------------------------------------------------------------------------
# Secrets: read once into memory by the setup (or unregister) stage only, then removed from its
# environment, so that no child (config.cmd gets it in its own block) inherits them. Main never
# reads them: it removes them from its environment once setup, which inherits them, has started.
# No file of ours ever holds them.
# ---------------------------------------------------------------------------------------------
$SecretNames = @('AZP_TOKEN', 'AZP_TOKEN_FILE', 'AZP_SP_CLIENT_SECRET', 'AZP_SP_CLIENT_SECRET_FILE')
function Remove-SecretVariables {
  foreach ($name in @('AZP_TOKEN', 'AZP_TOKEN_FILE', 'AZP_SP_CLIENT_SECRET', 'AZP_SP_CLIENT_SECRET_FILE')) {
    [Environment]::SetEnvironmentVariable($name, $null, 'Process')
  }
}
$script:Secret = $null
if ($Stage -ne 'main') {
  if ($Auth -eq 'pat') {
    $script:Secret = if ($env:AZP_TOKEN_FILE) { Read-SecretFile $env:AZP_TOKEN_FILE } else { $env:AZP_TOKEN }
  } else {
    $script:Secret = if ($env:AZP_SP_CLIENT_SECRET_FILE) { Read-SecretFile $env:AZP_SP_CLIENT_SECRET_FILE } else { $env:AZP_SP_CLIENT_SECRET }
  }
  Remove-SecretVariables
} else {
  # Belt and braces: every environment variable of the agent becomes a capability unless listed
  # here (set once, by main: the other stages inherit it).
  $ignore = 'AZP_TOKEN,AZP_TOKEN_FILE,AZP_SP_CLIENT_SECRET,AZP_SP_CLIENT_SECRET_FILE,VSTS_AGENT_INPUT_TOKEN,VSTS_AGENT_INPUT_CLIENTSECRET'
  $env:VSO_AGENT_IGNORE = if ($env:VSO_AGENT_IGNORE) { "$($env:VSO_AGENT_IGNORE),$ignore" } else { $ignore }
}

# The agent's own auth arguments; the secret goes only into the child's environment block.
$SecretInput = if ($Auth -eq 'pat') { 'VSTS_AGENT_INPUT_TOKEN' } else { 'VSTS_AGENT_INPUT_CLIENTSECRET' }
$AuthArgs = if ($Auth -eq 'pat') { @('--auth', 'pat') } else { @('--auth', 'SP', '--clientId', $env:AZP_SP_CLIENT_ID, '--tenantId', $env:AZP_SP_TENANT_ID) }

function Clear-Secret {
  $script:Secret = $null
  [GC]::Collect()
}

# ---------------------------------------------------------------------------------------------
# Stop requests: the container runtime sends CTRL_SHUTDOWN_EVENT (docker stop, ACI delete) or
# CTRL_CLOSE_EVENT to every console process. The handler only records the request and holds the
# process until the cleanup below is done (Windows kills it when the handler returns).
# ---------------------------------------------------------------------------------------------
Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
using System.Threading;
public static class AzpStopSignal {
  public delegate bool Handler(int ctrlType);
  [DllImport("kernel32.dll")] static extern bool SetConsoleCtrlHandler(Handler handler, bool add);
  static Handler keep;
  public static readonly ManualResetEvent Requested = new ManualResetEvent(false);
  public static readonly ManualResetEvent Done = new ManualResetEvent(false);
  public static volatile int Type = -1;
  public static int HoldMs = 120000;
  public static void Install() {
    keep = OnSignal;
    SetConsoleCtrlHandler(keep, true);
  }
  static bool OnSignal(int ctrlType) {
    if (Type < 0) Type = ctrlType;
    Requested.Set();
    // 0 = Ctrl+C, 1 = Ctrl+Break: the process is not killed after the handler returns.
    if (ctrlType >= 2) Done.WaitOne(HoldMs);
    return true;
  }
}
'@
[AzpStopSignal]::HoldMs = 1000 * ($StopTimeout + $CleanupRetries * ($CleanupTimeout + $CleanupRetryDelay) + 5)
[AzpStopSignal]::Install()

function Test-StopRequested { return [AzpStopSignal]::Requested.WaitOne(0) }
function Get-StopExitCode { if ([AzpStopSignal]::Type -le 1) { return $EX_INT } else { return $EX_TERM } }

# ---------------------------------------------------------------------------------------------
# Child processes: config.cmd / run.cmd through cmd.exe, in the agent directory.
# ---------------------------------------------------------------------------------------------
function ConvertTo-CmdArgument([string] $Value) {
  if ($Value -match '^[A-Za-z0-9_./:=\\-]+$') { return $Value }
  return '"' + $Value + '"'
}

# Starts cmd.exe /c SCRIPT ARGS. With -WithSecret the secret goes into that child's environment
# block only (ProcessStartInfo.EnvironmentVariables): never into ours, never onto a command line.
# Without it, no secret variable reaches the child (main keeps them with AZP_UNREGISTER_ON_EXIT=1).
function Start-AgentScript([string] $Script, [string[]] $Arguments, [switch] $WithSecret) {
  $psi = New-Object System.Diagnostics.ProcessStartInfo
  $psi.FileName = Join-Path $env:SystemRoot 'System32\cmd.exe'
  $line = (@((ConvertTo-CmdArgument (Join-Path $AgentDir $Script))) + @($Arguments | ForEach-Object { ConvertTo-CmdArgument $_ })) -join ' '
  $psi.Arguments = '/d /s /c "' + $line + '"'
  $psi.WorkingDirectory = $AgentDir
  $psi.UseShellExecute = $false
  if ($WithSecret) { $psi.EnvironmentVariables[$SecretInput] = $script:Secret } elseif ($UnregisterOnExit) { foreach ($name in $SecretNames) { $psi.EnvironmentVariables.Remove($name) } }
  $process = [Diagnostics.Process]::Start($psi)
  $psi = $null
  return $process
}

# Stops a child and everything it started: first it gets StopTimeout seconds (it received the
# same console event as we did), then the whole tree is killed.
function Stop-AgentTree($Process, [int] $TimeoutSec) {
  if ($Process.HasExited) { return }
  Write-Log "stopping the agent (pid $($Process.Id)), waiting up to ${TimeoutSec}s"
  if (-not $Process.WaitForExit(1000 * $TimeoutSec)) {
    Write-Warn "the agent did not stop within ${TimeoutSec}s; killing it"
    & taskkill.exe /T /F /PID $Process.Id 2>&1 | Out-Null
    $null = $Process.WaitForExit(5000)
  }
}

# Waits for a child; returns its exit code, or $null when a stop was requested first.
function Wait-AgentScript($Process) {
  while (-not $Process.WaitForExit(200)) {
    if (Test-StopRequested) {
      Stop-AgentTree $Process $StopTimeout
      return $null
    }
  }
  return $Process.ExitCode
}

# ---------------------------------------------------------------------------------------------
# Exit: unregister only when asked to (AZP_UNREGISTER_ON_EXIT=1); otherwise the autoscaler
# removes the registration once the container is gone.
# ---------------------------------------------------------------------------------------------
$script:KeepRegistration = -not $UnregisterOnExit

function Test-Configured { return Test-Path -LiteralPath (Join-Path $AgentDir '.agent') }

function Unregister-Agent {
  if ($Stage -eq 'main') {
    # Main holds no token: the unregister stage reads it from the environment this mode kept.
    $p = Start-Stage 'unregister'
    $limit = $CleanupRetries * ($CleanupTimeout + $CleanupRetryDelay) + 10
    if (-not $p.WaitForExit(1000 * $limit)) { & taskkill.exe /T /F /PID $p.Id 2>&1 | Out-Null; return $false }
    return ($p.ExitCode -eq 0)
  }
  for ($attempt = 1; $attempt -le $CleanupRetries; $attempt++) {
    Write-Log "unregistering agent '$AgentName' (attempt $attempt of $CleanupRetries)"
    $p = Start-AgentScript 'config.cmd' (@('remove', '--unattended') + $AuthArgs) -WithSecret
    if ($p.WaitForExit(1000 * $CleanupTimeout)) {
      if ($p.ExitCode -eq 0) {
        Write-Log "agent '$AgentName' unregistered"
        return $true
      }
    } else {
      & taskkill.exe /T /F /PID $p.Id 2>&1 | Out-Null
    }
    if ($attempt -lt $CleanupRetries) { Start-Sleep -Seconds $CleanupRetryDelay }
  }
  Write-Err "could not unregister agent '$AgentName' after $CleanupRetries attempts; the autoscaler removes registrations whose container is gone"
  return $false
}

function Exit-Agent([int] $Code) {
  if ((-not $script:KeepRegistration) -and (Test-Configured)) {
    if (-not (Unregister-Agent) -and $Code -eq 0) { $Code = $EX_CLEANUP_FAILED }
  }
  Clear-Secret
  Write-Log "exiting with code $Code"
  [AzpStopSignal]::Done.Set() | Out-Null
  exit $Code
}

# Starts this script again in a fresh powershell.exe as stage NAME. The child inherits this
# process's environment block as the OS holds it: ProcessStartInfo.EnvironmentVariables is never
# touched here, so .NET passes no block of its own and no string of ours copies a secret.
function Start-Stage([string] $Name) {
  [Environment]::SetEnvironmentVariable('_AZP_START_STAGE', $Name, 'Process')
  try {
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = Join-Path $PSHOME 'powershell.exe'
    $psi.Arguments = '-NoLogo -NoProfile -ExecutionPolicy Bypass -File "' + $PSCommandPath + '"'
    $psi.UseShellExecute = $false
    return [Diagnostics.Process]::Start($psi)
  } finally {
    [Environment]::SetEnvironmentVariable('_AZP_START_STAGE', $null, 'Process')
  }
}

# ---------------------------------------------------------------------------------------------
# Main: setup registers the agent (and exits), then run.cmd runs under this process, which never
# held the token.
# ---------------------------------------------------------------------------------------------
function Invoke-MainStage {
  $setup = Start-Stage 'setup'
  if (-not $UnregisterOnExit) { Remove-SecretVariables }
  $rc = Wait-AgentScript $setup
  if ($null -eq $rc) { Exit-Agent (Get-StopExitCode) }
  if ($rc -ne 0) {
    # Setup said why (settings, download, config.cmd); its code is ours.
    $script:KeepRegistration = $true
    Exit-Agent $rc
  }
  Write-Log "agent '$AgentName' registered by the setup stage, which has exited with the token"

  if ($RunMode -eq 'placeholder') {
    $script:KeepRegistration = $true
    Write-Log "placeholder mode: agent '$AgentName' registered; exiting without running a job (the registration stays)"
    Exit-Agent 0
  }

  $runArgs = @()
  if ($RunMode -eq 'once' -and -not ($AgentArgs | Where-Object { $_ -ieq '--once' })) { $runArgs += '--once' }
  $runArgs += $AgentArgs

  $restarts = 0
  while ($true) {
    Write-Log "starting the agent: run.cmd $($runArgs -join ' ')"
    $rc = Wait-AgentScript (Start-AgentScript 'run.cmd' $runArgs)
    if ($null -eq $rc) { Exit-Agent (Get-StopExitCode) }
    if ($rc -eq 4 -and $restarts -lt $UpdateRestarts) {
      $restarts++
      Write-Log "the agent exited with code 4 (it updated itself without running a job); starting it again in ${UpdateDelay}s ($restarts of $UpdateRestarts)"
      if ([AzpStopSignal]::Requested.WaitOne(1000 * $UpdateDelay)) { Exit-Agent (Get-StopExitCode) }
      continue
    }
    break
  }

  Write-Log "the agent exited with code $rc"
  Exit-Agent $rc
}

if ($Stage -eq 'main') { Invoke-MainStage }

# The stages below hold the secret and never run a job; they only ever register or unregister.
$script:KeepRegistration = $true
if ($Stage -eq 'unregister') {
  $rc = if (Unregister-Agent) { 0 } else { $EX_CLEANUP_FAILED }
  Exit-Agent $rc
}

# ---------------------------------------------------------------------------------------------
# Setup. The agent: baked into the image, or downloaded (the seed's slow path, the slim image).
# ---------------------------------------------------------------------------------------------
function Test-AgentPresent { return (Test-Path (Join-Path $AgentDir 'config.cmd')) -and (Test-Path (Join-Path $AgentDir 'run.cmd')) }

$AgentVersion = ''
if (Test-AgentPresent) {
  $AgentVersion = "$env:AZP_AGENT_BAKED_VERSION"
  Write-Log "using the agent baked into the image$(if ($AgentVersion) { " (version $AgentVersion)" })"
} else {
  $platform = if ($env:AZP_AGENT_PLATFORM) { $env:AZP_AGENT_PLATFORM } else { 'win-x64' }
  $url = "$env:AZP_AGENT_PACKAGE_URL"
  Write-Log "no agent in ${AgentDir}: downloading one (bake the agent into the image to skip this)"
  [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
  if (-not $url) {
    if ($Auth -ne 'pat') { Stop-Usage 'no agent in the image and no AZP_TOKEN to look one up: build the image with the agent, or set AZP_AGENT_PACKAGE_URL' }
    Write-Log "looking up the latest $platform agent at $AzpUrl"
    # In-process request: the token is in a header of this process, not on a command line.
    $basic = [Convert]::ToBase64String([Text.Encoding]::ASCII.GetBytes(":$script:Secret"))
    try {
      $meta = Invoke-RestMethod -UseBasicParsing -Headers @{ Authorization = "Basic $basic" } `
        -Uri "$AzpUrl/_apis/distributedtask/packages/agent?platform=$platform&top=1"
    } catch {
      Stop-Usage "could not list agent packages at ${AzpUrl}: check AZP_URL and that the token may read agent pools"
    } finally {
      $basic = $null
    }
    if (-not $meta.value -or -not $meta.value[0].downloadUrl) { Stop-Usage "could not determine a matching agent package for $platform at $AzpUrl" }
    $url = $meta.value[0].downloadUrl
    $v = $meta.value[0].version
    $AgentVersion = "$($v.major).$($v.minor).$($v.patch)"
  }
  $archive = Join-Path $AzpHome 'agent-package.zip'
  Write-Log "downloading $url"
  try { Invoke-WebRequest -UseBasicParsing -Uri $url -OutFile $archive } catch { Stop-Usage "could not download the agent from $url" }
  if ($env:AZP_AGENT_PACKAGE_SHA256) {
    $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $archive).Hash
    if ($actual -ne $env:AZP_AGENT_PACKAGE_SHA256.ToUpperInvariant()) {
      Remove-Item -LiteralPath $archive -Force
      Stop-Usage "checksum mismatch for $url (expected sha256 $env:AZP_AGENT_PACKAGE_SHA256)"
    }
  } else {
    Write-Warn 'AZP_AGENT_PACKAGE_SHA256 is not set: the downloaded agent is not checksum-verified'
  }
  New-Item -ItemType Directory -Force -Path $AgentDir | Out-Null
  Expand-Archive -LiteralPath $archive -DestinationPath $AgentDir -Force
  Remove-Item -LiteralPath $archive -Force
  if (-not (Test-AgentPresent)) { Stop-Usage "the package from $url has no config.cmd and run.cmd" }
}

if ($Auth -eq 'sp' -and $AgentVersion -match '^[0-9]+(\.[0-9]+){1,3}$' -and [version] $AgentVersion -lt $SP_MIN_AGENT_VERSION) {
  Stop-Usage "AZP_AUTH=sp needs agent $SP_MIN_AGENT_VERSION or newer; this agent is $AgentVersion"
}

# ---------------------------------------------------------------------------------------------
# Configure
# ---------------------------------------------------------------------------------------------
if (Test-Configured) {
  # Left by an earlier start of this container; --replace takes the registration over.
  Write-Log 'removing the local configuration left by an earlier start'
  foreach ($f in @('.agent', '.credentials', '.credentials_rsaparams')) {
    Remove-Item -LiteralPath (Join-Path $AgentDir $f) -Force -ErrorAction SilentlyContinue
  }
}

Write-Log "registering agent '$AgentName' in pool '$Pool' at $AzpUrl (auth $Auth, mode $RunMode)"
$configArgs = @('--unattended', '--url', $AzpUrl) + $AuthArgs + @('--pool', $Pool, '--agent', $AgentName, '--work', $Work, '--replace', '--acceptTeeEula')
$rc = Wait-AgentScript (Start-AgentScript 'config.cmd' $configArgs -WithSecret)
if ($null -eq $rc) { Exit-Agent (Get-StopExitCode) }
if ($rc -ne 0) {
  Clear-Secret
  Stop-Usage "agent configuration failed (config.cmd exited with code $rc)"
}

# Registered: this stage's work is done; main runs the agent (or, placeholder, exits).
Clear-Secret
Exit-Agent 0
