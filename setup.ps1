<#
.SYNOPSIS
  Sets up the TWC dashboard stack on Windows: the same questions, options and
  .env as setup.sh (Linux, macOS).

.DESCRIPTION
  Checks Docker Desktop and Compose v2, asks for the chargers, the time zone
  and the tariff, writes .env (readable by you only) with freshly generated
  secrets, starts the stack and waits until every service is healthy.
  Safe to run again: settings in .env are offered as defaults, and a secret
  that is set is never replaced (InfluxDB and Grafana keep the first ones).

.EXAMPLE
  .\setup.ps1
.EXAMPLE
  .\setup.ps1 -NonInteractive -Chargers garage=192.168.1.50 -TimeZone America/Chicago
.EXAMPLE
  .\setup.ps1 -Demo
#>
[CmdletBinding()]
param(
  [switch]$NonInteractive,
  [string]$Chargers = '',
  [string]$TimeZone = '',
  [string]$DeliveryCents = '',
  [string]$OtherCents = '',
  [string]$TaxPercent = '',
  [string]$MonthlyFixedUsd = '',
  [string]$FlatRateCents = '',
  [ValidateSet('', 'none', 'apikey', 'jwt')][string]$Auth = '',
  [switch]$Demo,
  [switch]$HostMetrics,
  [switch]$ExposeMqtt,
  [switch]$Probe,
  [switch]$NoStart
)

$ErrorActionPreference = 'Stop'
Set-Location -Path $PSScriptRoot

$EnvFile = '.env'
$ExampleFile = '.env.example'
$OverrideFile = 'docker-compose.override.yml'
$DemoChargers = 'demo-1=simulator:9101,demo-2=simulator:9102'
$Utf8NoBom = New-Object System.Text.UTF8Encoding($false)

function Stop-Setup([string]$Message) {
  Write-Host "setup: $Message" -ForegroundColor Red
  exit 1
}

# --- validation: the same rules as setup.sh and the services --------------------

function Test-Chargers([string]$List) {
  $names = @{}
  $entries = $List -split '[\s,;]+' | Where-Object { $_ }
  if (-not $entries) { Write-Warning 'name at least one charger'; return $false }
  foreach ($entry in $entries) {
    $at = $entry.IndexOf('=')
    $name = if ($at -lt 0) { $entry } else { $entry.Substring(0, $at) }
    $hostName = if ($at -lt 0) { $entry } else { $entry.Substring($at + 1) }
    if (-not $name -or -not $hostName) { Write-Warning "`"$entry`" is not name=host"; return $false }
    if ($name -notmatch '^[A-Za-z0-9_.-]+$') { Write-Warning "charger name `"$name`" may only hold letters, digits, _ . -"; return $false }
    if ($hostName -notmatch '^[A-Za-z0-9_.:-]+$') { Write-Warning "`"$hostName`" is not a host name or address"; return $false }
    if ($names.ContainsKey($name)) { Write-Warning "charger name `"$name`" appears twice"; return $false }
    $names[$name] = $true
  }
  return $true
}

function Test-TimeZone([string]$Zone) {
  if ($Zone -notmatch '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$') { return $false }
  try {
    # .NET 6+ (PowerShell 7) knows IANA names; Windows PowerShell 5.1 does not.
    [void][System.TimeZoneInfo]::FindSystemTimeZoneById($Zone)
    return $true
  } catch [System.TimeZoneNotFoundException] {
    return $PSVersionTable.PSVersion.Major -lt 6
  }
}

function Test-Number([string]$Value) { return $Value -match '^[-+]?(\d+\.?\d*|\.\d+)$' }

# --- .env ------------------------------------------------------------------------

if (Test-Path $EnvFile) { $lines = [System.Collections.Generic.List[string]](Get-Content $EnvFile) }
elseif (Test-Path $ExampleFile) { $lines = [System.Collections.Generic.List[string]](Get-Content $ExampleFile) }
else { Stop-Setup "$ExampleFile is missing: run this script from the project's folder" }
$original = if (Test-Path $EnvFile) { [System.IO.File]::ReadAllText((Resolve-Path $EnvFile)) } else { $null }

function Get-EnvValue([string]$Key) {
  $value = ''
  foreach ($line in $lines) { if ($line.StartsWith("$Key=")) { $value = $line.Substring($Key.Length + 1) } }
  return $value
}

function Get-DocumentedDefault([string]$Key) {
  foreach ($line in (Get-Content $ExampleFile)) { if ($line.StartsWith("# $Key=")) { return $line.Substring($Key.Length + 3) } }
  return ''
}

# Replaces the active line, else the commented default, else appends.
function Set-EnvValue([string]$Key, [string]$Value) {
  $active = -1; $commented = -1
  for ($i = 0; $i -lt $lines.Count; $i++) {
    if ($lines[$i].StartsWith("$Key=")) { $active = $i }
    elseif ($commented -lt 0 -and $lines[$i].StartsWith("# $Key=")) { $commented = $i }
  }
  $at = if ($active -ge 0) { $active } else { $commented }
  if ($at -ge 0) { $lines[$at] = "$Key=$Value" } else { $lines.Add("$Key=$Value") }
}

function New-Secret([int]$Length) {
  $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  $bytes = New-Object byte[] ($Length * 2)
  $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
  $chars = New-Object System.Text.StringBuilder
  while ($chars.Length -lt $Length) {
    $rng.GetBytes($bytes)
    # 248 = 4 x 62: dropping bytes above it keeps every character equally likely.
    foreach ($b in $bytes) { if ($b -lt 248 -and $chars.Length -lt $Length) { [void]$chars.Append($alphabet[$b % 62]) } }
  }
  return $chars.ToString()
}

function Read-Answer([string]$Prompt, [string]$Default) {
  $answer = Read-Host -Prompt ($(if ($Default) { "$Prompt [$Default]" } else { $Prompt }))
  if ($answer) { return $answer } else { return $Default }
}

# --- Docker ----------------------------------------------------------------------

function Test-Docker {
  if (-not (Get-Command docker -ErrorAction SilentlyContinue)) { Stop-Setup 'Docker is not installed: see docs/REQUIREMENTS.md' }
  docker info *> $null
  if ($LASTEXITCODE -ne 0) { Stop-Setup 'Docker is installed but not running: start Docker Desktop' }
  $version = (docker compose version --short 2>$null) -replace '^v', ''
  if ($version -notmatch '^([2-9]|\d\d)\.') { Stop-Setup "Docker Compose v2 (the 'docker compose' plugin) is needed: see docs/REQUIREMENTS.md" }
}

function Get-Health([string]$Service) {
  $id = docker compose ps -q $Service 2>$null | Select-Object -First 1
  if (-not $id) { return 'missing' }
  return (docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $id 2>$null)
}

# --- main --------------------------------------------------------------------------

$interactive = -not $NonInteractive
if ($interactive -and [Console]::IsInputRedirected) {
  Stop-Setup 'no console to ask questions on: run with -NonInteractive and options (Get-Help .\setup.ps1)'
}
if (-not $NoStart -or $Probe) { Test-Docker }

# Chargers
$current = Get-EnvValue 'CHARGERS'
if ($Chargers) { $value = $Chargers }
elseif ($Demo) { $value = $DemoChargers }
elseif ($interactive) {
  Write-Host 'Your Wall Connectors: name=address pairs, comma separated, e.g. garage=192.168.1.50.'
  do { $value = Read-Answer 'Chargers' $current } until (Test-Chargers $value)
} else { $value = $current }
if (-not $value) { Stop-Setup 'no chargers: pass -Chargers name=host[,name=host...] (or -Demo)' }
if (-not (Test-Chargers $value)) { Stop-Setup '-Chargers: fix the list above' }
Set-EnvValue 'CHARGERS' $value

# Time zone
$zone = if ($TimeZone) { $TimeZone } elseif (Get-EnvValue 'TIMEZONE') { Get-EnvValue 'TIMEZONE' } else { 'America/Chicago' }
if ($interactive -and -not $TimeZone) {
  do { $zone = Read-Answer 'Time zone (IANA name)' $zone } until (Test-TimeZone $zone)
}
if (-not (Test-TimeZone $zone)) { Stop-Setup "`"$zone`" is not a time zone name like America/Chicago" }
Set-EnvValue 'TIMEZONE' $zone

# Tariff
$tariff = [ordered]@{
  TARIFF_DELIVERY_CENTS_KWH  = $DeliveryCents
  TARIFF_OTHER_CENTS_KWH     = $OtherCents
  TARIFF_TAX_PERCENT         = $TaxPercent
  TARIFF_MONTHLY_FIXED_USD   = $MonthlyFixedUsd
  TARIFF_FLAT_RATE_CENTS_KWH = $FlatRateCents
}
if ($interactive) { Write-Host 'Tariff: what a kWh costs on top of the ComEd supply price (rough 2025 figures in brackets: check your bill).' }
foreach ($key in @($tariff.Keys)) {
  $value = $tariff[$key]
  if (-not $value -and $interactive) {
    $documented = Get-DocumentedDefault $key
    $existing = Get-EnvValue $key
    do { $value = Read-Answer "  $key" ($(if ($existing) { $existing } else { $documented })) } until (-not $value -or (Test-Number $value))
    # Unchanged from the documented default: the line stays commented.
    if (-not $existing -and $value -eq $documented) { $value = '' }
  }
  if (-not $value) { continue }
  if (-not (Test-Number $value)) { Stop-Setup "${key}: `"$value`" is not a number" }
  Set-EnvValue $key $value
}

if ($Auth -or (Get-EnvValue 'AUTH_MODE')) { Set-EnvValue 'AUTH_MODE' ($(if ($Auth) { $Auth } else { Get-EnvValue 'AUTH_MODE' })) }

$profiles = @((Get-EnvValue 'COMPOSE_PROFILES') -split ',' | Where-Object { $_ })
if ($Demo -and $profiles -notcontains 'demo') { $profiles += 'demo' }
if ($HostMetrics -and $profiles -notcontains 'host-metrics') { $profiles += 'host-metrics' }
if ($profiles.Count -gt 0) { Set-EnvValue 'COMPOSE_PROFILES' ($profiles -join ',') }

foreach ($secret in @(@('INFLUXDB_ADMIN_PASSWORD', 32), @('INFLUXDB_ADMIN_TOKEN', 48), @('GRAFANA_ADMIN_PASSWORD', 24),
    @('JWT_SECRET', 48), @('API_KEYS', 40), @('MQTT_PASSWORD', 32))) {
  if (-not (Get-EnvValue $secret[0])) { Set-EnvValue $secret[0] (New-Secret $secret[1]) }
}

# LF line endings: the containers read .env values literally, a CR included.
$text = ($lines -join "`n") + "`n"
if ($original -eq $text) {
  Write-Host "$EnvFile is up to date."
} else {
  [System.IO.File]::WriteAllText((Join-Path $PSScriptRoot $EnvFile), $text, $Utf8NoBom)
  Write-Host "Wrote $EnvFile (readable by you only)."
}
# Only the current user may read it (the counterpart of mode 600).
$acl = Get-Acl $EnvFile
$acl.SetAccessRuleProtection($true, $false)
$acl.Access | ForEach-Object { [void]$acl.RemoveAccessRule($_) }
$acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule(
      [System.Security.Principal.WindowsIdentity]::GetCurrent().Name, 'FullControl', 'Allow')))
Set-Acl -Path $EnvFile -AclObject $acl

if ($ExposeMqtt -and -not (Test-Path $OverrideFile)) {
  $override = @(
    '# Written by setup --expose-mqtt: publishes the MQTT broker so Home Assistant on another machine',
    '# can connect (user MQTT_USERNAME, password MQTT_PASSWORD from .env). Delete to keep MQTT internal.',
    'services:', '  mosquitto:', '    ports:', '      - 1883:1883', '')
  [System.IO.File]::WriteAllText((Join-Path $PSScriptRoot $OverrideFile), ($override -join "`n"), $Utf8NoBom)
  Write-Host "Wrote ${OverrideFile}: MQTT is published on port 1883."
}
New-Item -ItemType Directory -Force -Path 'config' | Out-Null

if ($interactive -and -not $Probe -and -not $Demo) {
  $Probe = (Read-Answer 'Probe each charger now? (y/n)' 'y') -match '^[yY]'
}
if ($Probe) {
  Write-Host 'Building the collector image to probe the chargers...'
  docker compose build collector
  foreach ($entry in ((Get-EnvValue 'CHARGERS') -split '[\s,;]+' | Where-Object { $_ })) {
    $hostName = if ($entry.Contains('=')) { $entry.Substring($entry.IndexOf('=') + 1) } else { $entry }
    Write-Host "Probing $hostName ..."
    docker compose run --rm --no-deps collector dist/cli/main.js probe $hostName
    if ($LASTEXITCODE -ne 0) { Write-Warning "$hostName did not answer as a Wall Connector: check the address." }
  }
}

if ($NoStart) { Write-Host 'Not starting (-NoStart). Start with: docker compose up -d --build'; exit 0 }

Write-Host 'Building and starting the stack...'
docker compose up -d --build --remove-orphans
if ($LASTEXITCODE -ne 0) { Stop-Setup 'docker compose up failed' }
$services = docker compose config --services
$deadline = (Get-Date).AddMinutes(10)
Write-Host 'Waiting for the services to become healthy (the first start of InfluxDB takes a while)...'
do {
  $pending = @($services | Where-Object { (Get-Health $_) -ne 'healthy' })
  if ($pending.Count -eq 0) { break }
  if ((Get-Date) -gt $deadline) {
    Stop-Setup "not healthy after 10 minutes: $($pending -join ', '). See 'docker compose logs <service>' and docs/SETUP.md."
  }
  Start-Sleep -Seconds 5
} while ($true)

$grafanaPort = if (Get-EnvValue 'GRAFANA_PORT') { Get-EnvValue 'GRAFANA_PORT' } else { '3000' }
$apiPort = if (Get-EnvValue 'API_PORT') { Get-EnvValue 'API_PORT' } else { '8000' }
$grafanaUser = if (Get-EnvValue 'GRAFANA_ADMIN_USER') { Get-EnvValue 'GRAFANA_ADMIN_USER' } else { 'admin' }
Write-Host ''
Write-Host 'The TWC dashboard is running:'
Write-Host "  Grafana   http://localhost:$grafanaPort/   user $grafanaUser, password in .env (GRAFANA_ADMIN_PASSWORD)"
Write-Host "  API       http://localhost:$apiPort/"
