#!/usr/bin/env node
// azd postprovision step (azure.yaml): build the Windows agent image in the registry with ACR
// Tasks, only when asked to. The build needs the SHA-256 of the agent's Windows zip, which has no
// committed default (infra/agent/README.md, "Windows image"):
//
//   azd env set AZP_WINDOWS_AGENT_SHA256 <sha256 of vsts-agent-win-x64-<version>.zip>
//
// Reads AZURE_CONTAINER_REGISTRY_NAME, AGENT_IMAGE_NAME, AGENT_IMAGE_TAG (main.bicep outputs) and
// AZP_WINDOWS_AGENT_SHA256 / AZP_WINDOWS_AGENT_VERSION (azd env). Runs `az` without a shell.
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const env = process.env;
const sha = (env.AZP_WINDOWS_AGENT_SHA256 ?? '').trim();
if (!sha) {
  console.log('Windows agent image: skipped (set AZP_WINDOWS_AGENT_SHA256 with `azd env set` to build it)');
  process.exit(0);
}
if (!/^[0-9a-fA-F]{64}$/.test(sha)) {
  console.error('AZP_WINDOWS_AGENT_SHA256 must be a SHA-256 (64 hex digits)');
  process.exit(1);
}
const missing = ['AZURE_CONTAINER_REGISTRY_NAME', 'AGENT_IMAGE_NAME', 'AGENT_IMAGE_TAG'].filter((k) => !env[k]);
if (missing.length) {
  console.error(`missing ${missing.join(', ')} (outputs of infra/main.bicep)`);
  process.exit(1);
}
const dir = relative(process.cwd(), dirname(fileURLToPath(import.meta.url))) || '.';
const image = `${env.AGENT_IMAGE_NAME}:${env.AGENT_IMAGE_TAG}-windows`;
const args = ['acr', 'build', '--registry', env.AZURE_CONTAINER_REGISTRY_NAME, '--platform', 'windows', '--image', image, '--build-arg', `AGENT_SHA256=${sha}`];
if (env.AZP_WINDOWS_AGENT_VERSION) args.push('--build-arg', `AGENT_VERSION=${env.AZP_WINDOWS_AGENT_VERSION}`);
args.push('--file', join(dir, 'Dockerfile'), dir, '--output', 'none');
console.log(`Windows agent image: az ${args.join(' ')}`);
const r = spawnSync('az', args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.error) {
  console.error(`could not run az: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
