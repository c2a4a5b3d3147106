#Requires -Version 5.1
<#
Build-time step of infra/agent/windows/Dockerfile: download one Azure Pipelines agent package,
verify its SHA-256 and extract it, so that containers start without downloading anything.
The Windows twin of infra/agent/fetch-agent.sh:
  downloads BASE/VERSION/vsts-agent-PLATFORM-VERSION.zip and extracts it into OUT.
#>
param(
  [Parameter(Mandatory = $true)] [string] $Version,
  [string] $Sha256 = '',
  [string] $Platform = 'win-x64',
  [string] $Base = 'https://download.agent.dev.azure.com/agent',
  [Parameter(Mandatory = $true)] [string] $Out
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$file = "vsts-agent-$Platform-$Version.zip"
$url = "$($Base.TrimEnd('/'))/$Version/$file"
if ($Sha256 -notmatch '^[0-9a-fA-F]{64}$') {
  [Console]::Error.WriteLine("error: the build arg AGENT_SHA256 must be the SHA-256 (64 hex digits) of $file;")
  [Console]::Error.WriteLine('       the agent''s release notes list it, or compute it on a machine you trust')
  exit 1
}

[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
$tmp = Join-Path ([IO.Path]::GetTempPath()) $file
Write-Output "downloading $url"
Invoke-WebRequest -UseBasicParsing -Uri $url -OutFile $tmp
$actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $tmp).Hash
if ($actual -ne $Sha256.ToUpperInvariant()) {
  Remove-Item -LiteralPath $tmp -Force
  [Console]::Error.WriteLine("error: checksum mismatch for $url")
  [Console]::Error.WriteLine("       expected $Sha256, got $actual")
  exit 1
}
New-Item -ItemType Directory -Force -Path $Out | Out-Null
Expand-Archive -LiteralPath $tmp -DestinationPath $Out -Force
Remove-Item -LiteralPath $tmp -Force
Write-Output "agent $Version ($Platform) extracted into $Out"
