#!/usr/bin/env node
// The Windows agent image for the azd hooks (azure.yaml, infra/hooks/pre- and postprovision), the
// twin of infra/hooks/agent-image.sh for the Linux one:
//
//   acr-build.mjs tag     prints <agent version>-<content hash>-windows: the hash (12 hex) of this
//                         image's own inputs (Dockerfile, .dockerignore and the files it lets into the
//                         context: start.ps1, fetch-agent.ps1) and of its build arguments (agent
//                         version and checksum). A change to the Linux image, the docs or the app
//                         keeps it; a change to any of these gives a new tag, never a rebuilt one.
//                         Stops when a Windows profile in infra/main.parameters.json has no image
//                         and AZP_WINDOWS_AGENT_SHA256 is unset: nothing would build its tag.
//   acr-build.mjs build   builds $AGENT_IMAGE_NAME:$AGENT_IMAGE_TAG_WINDOWS with ACR Tasks unless the
//                         tag is in the registry already; only when asked to (the build needs the
//                         SHA-256 of the agent's Windows zip, which has no committed default;
//                         infra/agent/README.md, "Windows image"):
//
//   azd env set AZP_WINDOWS_AGENT_SHA256 <sha256 of vsts-agent-win-x64-<version>.zip>
//
// Reads AZURE_CONTAINER_REGISTRY_NAME, AGENT_IMAGE_NAME (main.bicep outputs), AGENT_IMAGE_TAG_WINDOWS
// (set by the preprovision hook) and AZP_WINDOWS_AGENT_SHA256 / AZP_WINDOWS_AGENT_VERSION (azd env).
// Runs `az` without a shell.
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** What the build reads from this directory: the Dockerfile, .dockerignore and what it lets through. */
const INPUTS = ['Dockerfile', '.dockerignore', 'start.ps1', 'fetch-agent.ps1'];

const env = process.env;
const here = dirname(fileURLToPath(import.meta.url));
const sha = (env.AZP_WINDOWS_AGENT_SHA256 ?? '').trim().toLowerCase();
const wantedVersion = (env.AZP_WINDOWS_AGENT_VERSION ?? '').trim();
const command = process.argv[2];

if (command === 'tag') {
  const pinned = /^ARG AGENT_VERSION=([0-9][0-9.]*)$/m.exec(readFileSync(join(here, 'Dockerfile'), 'utf8'))?.[1];
  const version = wantedVersion || pinned;
  if (!version) {
    console.error('infra/agent/windows/Dockerfile has no pinned ARG AGENT_VERSION=<x.y.z>');
    process.exit(1);
  }
  const hash = createHash('sha256');
  // Line endings normalized: a CRLF checkout hashes the same.
  for (const f of INPUTS) hash.update(`${f}\n${readFileSync(join(here, f), 'utf8').replace(/\r/g, '')}`);
  hash.update(`AGENT_VERSION=${version}\nAGENT_SHA256=${sha}\n`);
  // Windows profiles without their own image get this tag (main.bicep); without the checksum
  // nothing builds it, and every create of those profiles would pull a tag that is not there.
  if (!sha) {
    const parameters = join(here, '../../main.parameters.json');
    const pools = existsSync(parameters) ? JSON.parse(readFileSync(parameters, 'utf8')).parameters?.pools?.value : undefined;
    const needy = (Array.isArray(pools) ? pools : []).filter((p) => p?.os === 'Windows' && !p.image).map((p) => p.name);
    if (needy.length) {
      console.error(
        `infra/main.parameters.json: Windows profile(s) ${needy.join(', ')} get the agent image built here, which needs ` +
          '`azd env set AZP_WINDOWS_AGENT_SHA256 <sha256 of vsts-agent-win-x64-<version>.zip>` (infra/agent/README.md, "Windows image"); or give them their own "image"',
      );
      process.exit(1);
    }
  }
  console.log(`${version}-${hash.digest('hex').slice(0, 12)}-windows`);
  process.exit(0);
}
if (command !== 'build') {
  console.error('usage: acr-build.mjs tag|build');
  process.exit(2);
}
if (!sha) {
  console.log('Windows agent image: skipped (set AZP_WINDOWS_AGENT_SHA256 with `azd env set` to build it)');
  process.exit(0);
}
if (!/^[0-9a-f]{64}$/.test(sha)) {
  console.error('AZP_WINDOWS_AGENT_SHA256 must be a SHA-256 (64 hex digits)');
  process.exit(1);
}
const missing = ['AZURE_CONTAINER_REGISTRY_NAME', 'AGENT_IMAGE_NAME', 'AGENT_IMAGE_TAG_WINDOWS'].filter((k) => !env[k]);
if (missing.length) {
  console.error(`missing ${missing.join(', ')} (outputs of infra/main.bicep; AGENT_IMAGE_TAG_WINDOWS from the preprovision hook)`);
  process.exit(1);
}
const az = (args, stdio) => spawnSync('az', args, { stdio, shell: process.platform === 'win32' });
const image = `${env.AGENT_IMAGE_NAME}:${env.AGENT_IMAGE_TAG_WINDOWS}`;
// The tag names its content: one that exists is never rebuilt (running and new groups get one image).
if (az(['acr', 'repository', 'show', '--name', env.AZURE_CONTAINER_REGISTRY_NAME, '--image', image, '--output', 'none'], 'ignore').status === 0) {
  console.log(`Windows agent image ${image} already in ${env.AZURE_CONTAINER_REGISTRY_NAME}`);
  process.exit(0);
}
if (env.PRIVATE_NETWORKING === 'true') {
  // The private registry refuses ACR's public task agents, and a dedicated task agent pool runs
  // Linux nodes only (Learn, "Run an ACR task on a dedicated agent pool", preview limitations).
  console.error(
    `PRIVATE_NETWORKING=true: ACR Tasks cannot build the Windows image for this registry (task agent pools in the VNet run Linux only). ` +
      `Build ${image} on a Windows Server 2022 host that reaches the registry (docker build, then docker push; infra/agent/README.md, "Windows image"), ` +
      `or give Windows profiles their own "image"; then run azd up again, or unset AZP_WINDOWS_AGENT_SHA256 to skip this step.`,
  );
  process.exit(1);
}
const dir = relative(process.cwd(), here) || '.';
const args = ['acr', 'build', '--registry', env.AZURE_CONTAINER_REGISTRY_NAME, '--platform', 'windows', '--image', image, '--build-arg', `AGENT_SHA256=${sha}`];
if (wantedVersion) args.push('--build-arg', `AGENT_VERSION=${wantedVersion}`);
args.push('--file', join(dir, 'Dockerfile'), dir, '--output', 'none');
console.log(`Windows agent image: az ${args.join(' ')}`);
const r = az(args, 'inherit');
if (r.error) {
  console.error(`could not run az: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
