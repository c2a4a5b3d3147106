/**
 * The azd hooks (infra/hooks/*.sh) run with real sh against a recording stand-in for `az` and
 * `azd` on PATH, and the agent image build commands (hooks and docs) are checked against the
 * Dockerfile: a build that leaves a required build argument unset fails here, not in `azd up`.
 * Every resource provider the Bicep deploys or the app calls must be registered by preprovision.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../contract/paths.js';

const run = promisify(execFile);
const DOCKERFILE = join(repoRoot, 'infra/agent/Dockerfile');
const dockerfile = readFileSync(DOCKERFILE, 'utf8');

// ---------------------------------------------------------------------------------------------
// Dockerfile: stages, ARGs, and which ARGs a build of a target must be given

interface Arg {
  name: string;
  value: string | undefined; // undefined: declared without "="
  optional: boolean; // the comment line right above starts with "# optional:"
}
interface Stage {
  name: string;
  base: string;
  args: Arg[];
  copiesFrom: string[];
}

export function parseDockerfile(text: string): { globals: Arg[]; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const globals: Arg[] = [];
  const stages: Stage[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      stages.push({ name: from[2] ?? String(stages.length), base: from[1]!, args: [], copiesFrom: [] });
      return;
    }
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(line);
    if (arg) {
      const a = { name: arg[1]!, value: arg[2]?.trim(), optional: /^#\s*optional:/.test(lines[i - 1]?.trim() ?? '') };
      (stages.length ? stages[stages.length - 1]!.args : globals).push(a);
      return;
    }
    const copy = /^COPY\s+.*--from=(\S+)/i.exec(line);
    if (copy && stages.length) stages[stages.length - 1]!.copiesFrom.push(copy[1]!);
  });
  return { globals, stages };
}

/** Build arguments a build of `target` (default: the last stage) needs and the command does not give. */
export function missingBuildArgs(text: string, target: string | undefined, given: Record<string, string>): string[] {
  const { globals, stages } = parseDockerfile(text);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const chain = new Set<string>();
  const visit = (name: string): void => {
    const s = byName.get(name);
    if (!s || chain.has(name)) return;
    chain.add(name);
    visit(s.base);
    s.copiesFrom.forEach(visit);
  };
  const t = target ?? stages[stages.length - 1]!.name;
  if (!byName.has(t)) return [`no stage ${t}`];
  visit(t);
  const missing: string[] = [];
  for (const s of stages.filter((x) => chain.has(x.name))) {
    for (const a of s.args) {
      const def = a.value ?? globals.find((g) => g.name === a.name)?.value ?? '';
      if (def === '' && !a.optional && !(given[a.name] ?? '').length) missing.push(`${s.name}: ${a.name}`);
    }
  }
  return missing;
}

interface BuildCommand {
  where: string;
  target: string | undefined;
  args: Record<string, string>;
}

/** `az acr build …` / `docker build …` commands in a text (line continuations joined). */
export function buildCommands(where: string, text: string): BuildCommand[] {
  const joined = text.replace(/\\\r?\n\s*/g, ' ').replace(/`\r?\n\s*/g, ' ');
  return [...joined.matchAll(/(?:az acr build|docker build)\b[^\n]*/g)].map((m) => {
    const cmd = m[0];
    const args: Record<string, string> = {};
    for (const a of cmd.matchAll(/--build-arg\s+([A-Za-z_]\w*)=(\S*)/g)) args[a[1]!] = a[2]!;
    const target = /--target\s+(\S+)/.exec(cmd)?.[1];
    return { where, target, args };
  });
}

// ---------------------------------------------------------------------------------------------
// A recording stand-in for az and azd

const FAKE_AZ = String.raw`#!/usr/bin/env bash
# Records every call (one line, arguments separated by " | ") and answers like az would.
printf '%s\n' "$(IFS='|'; echo "$*")" >> "$FAKE_LOG"
state="$FAKE_STATE"
arg() { local want=$1; shift; while [ $# -gt 0 ]; do if [ "$1" = "$want" ]; then echo "$2"; return; fi; shift; done; }
case "$1 $2" in
  "provider show")
    ns=$(arg --namespace "$@")
    if [ -f "$state/registered-$ns" ] || grep -qx "$ns" "$state/already" 2>/dev/null; then
      n=$(( $(cat "$state/polls-$ns" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$state/polls-$ns"
      if grep -qx "$ns" "$state/already" 2>/dev/null || [ "$n" -ge 2 ]; then echo Registered; else echo Registering; fi
    else echo NotRegistered; fi ;;
  "provider register") [ -n "$FAKE_NEVER_REGISTER" ] || touch "$state/registered-$(arg --namespace "$@")" ;;
  "functionapp list-flexconsumption-locations") printf 'East US\nWest Europe\nsoutheastasia\n' ;;
  "acr repository") [ -f "$state/image-$(arg --image "$@" | tr ':/' '__')" ] || exit 1 ;;
  "acr build")
    [ $((FAKE_ACR_BUILD_EXIT + 0)) = 0 ] || exit "$FAKE_ACR_BUILD_EXIT"
    touch "$state/image-$(arg --image "$@" | tr ':/' '__')" ;;
  "keyvault secret")
    name=$(arg --name "$@")
    if [ "$3" = show ]; then
      [ -f "$state/secret-$name" ] || exit 1
      if [ "$(arg --query "$@")" = value ]; then cat "$state/secret-$name"; echo; else echo "https://kv/secrets/$name/1"; fi
    fi
    if [ "$3" = set ]; then v=$(arg --value "$@"); printf '%s' "$v" > "$state/secret-$name"; fi ;;
  "cloud show") echo https://management.azure.com/ ;;
  "functionapp config") printf '[{"name":"AZP_URL","value":"https://dev.azure.com/contoso","slotSetting":false},{"name":"WEBHOOK_PASSWORD","value":"@Microsoft.KeyVault(SecretUri=https://kv/secrets/webhook-password/)","slotSetting":false}]' ;;
  "functionapp function") echo fn-key-0123 ;;
  "rest --method") ;;
  *) echo "fake az: unexpected: $*" >&2; exit 3 ;;
esac
`;
/** npm as postdeploy runs it (`npm run --silent cli -- <command> …`): records the command, whether
 * WEBHOOK_PASSWORD reached it, and the settings file it was given; exits FAKE_NPM_EXIT. */
const FAKE_NPM = String.raw`#!/usr/bin/env bash
printf 'npm|%s|password=%s\n' "$(IFS='|'; echo "$*")" "$(if [ "$WEBHOOK_PASSWORD" = "$FAKE_EXPECT_PASSWORD" ]; then echo passed; elif [ -n "$WEBHOOK_PASSWORD" ]; then echo wrong; fi)" >> "$FAKE_LOG"
prev=""; for a in "$@"; do if [ "$prev" = --settings ]; then cp "$a" "$FAKE_STATE/settings-seen.json"; echo "$a" > "$FAKE_STATE/settings-path"; fi; prev=$a; done
exit $((FAKE_NPM_EXIT + 0))
`;
const FAKE_AZD = String.raw`#!/usr/bin/env bash
printf 'azd|%s\n' "$(IFS='|'; echo "$*")" >> "$FAKE_LOG"
`;

let bin: string;
let state: string;
const log = (): string[] => readFileSync(join(state, 'log'), 'utf8').trim().split('\n');

async function hook(name: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('sh', [join(repoRoot, 'infra/hooks', name)], {
      cwd: tmpdir(), // the hooks cd to the repository themselves
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: state, FAKE_LOG: join(state, 'log'), FAKE_STATE: state, PROVIDER_POLL_SECONDS: '0', SECRET_RETRY_SECONDS: '0', ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function reset(): void {
  for (const f of readdirSync(state)) rmSync(join(state, f), { recursive: true, force: true });
  writeFileSync(join(state, 'log'), '');
}

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'fake-az-bin-'));
  state = mkdtempSync(join(tmpdir(), 'fake-az-state-'));
  writeFileSync(join(bin, 'az'), FAKE_AZ);
  writeFileSync(join(bin, 'azd'), FAKE_AZD);
  chmodSync(join(bin, 'az'), 0o755);
  chmodSync(join(bin, 'azd'), 0o755);
  writeFileSync(join(bin, 'npm'), FAKE_NPM);
  chmodSync(join(bin, 'npm'), 0o755);
});
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

const providers = readFileSync(join(repoRoot, 'infra/hooks/providers.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const POST_ENV = {
  AZURE_CONTAINER_REGISTRY_NAME: 'crabc',
  AGENT_IMAGE_NAME: 'azp-agent',
  AGENT_IMAGE_TAG: '4.269.0-0123456789ab',
  AZURE_KEY_VAULT_NAME: 'kv-abc',
  WEBHOOK_PASSWORD_SECRET_NAME: 'webhook-password',
  AZURE_FUNCTION_APP_ID: '/subscriptions/s/resourceGroups/rg-dev/providers/Microsoft.Web/sites/func-abc',
  AZURE_FUNCTION_APP_NAME: 'func-abc',
};

// ---------------------------------------------------------------------------------------------

describe('preprovision hook (sh, fake az)', () => {
  it('registers every provider that is not registered yet, waits until each is Registered, and sets the image tag', async () => {
    reset();
    writeFileSync(join(state, 'already'), 'Microsoft.Storage\nMicrosoft.Web\n');
    const r = await hook('preprovision.sh', { AZURE_LOCATION: 'westeurope' });
    expect(r.code, r.stderr).toBe(0);
    const calls = log();
    const registered = calls.filter((c) => c.startsWith('provider|register')).map((c) => c.split('|')[c.split('|').indexOf('--namespace') + 1]);
    expect(registered.sort()).toEqual(providers.filter((p) => !['Microsoft.Storage', 'Microsoft.Web'].includes(p)).sort());
    // Waited: each registered provider was read again after its register call until Registered.
    for (const ns of registered) {
      const reg = calls.findIndex((c) => c.startsWith('provider|register') && c.includes(`|${ns}`));
      expect(calls.slice(reg + 1).filter((c) => c.startsWith('provider|show') && c.includes(`|${ns}|`)).length, ns).toBeGreaterThanOrEqual(2);
    }
    const version = /^ARG AGENT_VERSION=(\S+)$/m.exec(dockerfile)![1]!;
    const tagCall = calls.find((c) => c.startsWith('azd|env|set|AGENT_IMAGE_TAG|'));
    expect(tagCall).toMatch(new RegExp(`^azd\\|env\\|set\\|AGENT_IMAGE_TAG\\|${version.replace(/\./g, '\\.')}-[0-9a-f]{12}$`));
    expect(tagCall).not.toMatch(/latest/);
    // A first deploy (no registry in the azd environment yet): nothing is built before provision.
    expect(calls.filter((c) => c.startsWith('acr|'))).toEqual([]);
  });

  it('gives up with a message when a provider stays unregistered', async () => {
    reset();
    const r = await hook('preprovision.sh', { PROVIDER_WAIT_SECONDS: '0', PROVIDER_POLL_SECONDS: '0', SKIP_REGION_CHECKS: '1', FAKE_NEVER_REGISTER: '1' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is still not Registered; retry later or run: az provider register --namespace Microsoft\.\w+ --wait/);
  });

  it.each([
    [{ AZURE_LOCATION: 'northcentralus' }, /AZURE_LOCATION=northcentralus has no Flex Consumption plan/],
    [{ AZURE_LOCATION: 'West Europe' }, null],
  ])('checks the Flex Consumption region: %j', async (env, problem) => {
    reset();
    writeFileSync(join(state, 'already'), providers.join('\n') + '\n');
    const r = await hook('preprovision.sh', env);
    if (problem) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(problem);
    } else expect(r.code, r.stderr).toBe(0);
  });
});

describe('preprovision hook: Spot outside the documented regions (sh, fake az, a copied tree)', () => {
  it('warns and goes on (the region list is a 2023 preview page), naming the fallback to add', async () => {
    reset();
    writeFileSync(join(state, 'already'), providers.join('\n') + '\n');
    const dir = mkdtempSync(join(tmpdir(), 'spot-tree-'));
    for (const f of ['infra/hooks/preprovision.sh', 'infra/hooks/agent-image.sh', 'infra/hooks/providers.txt', 'infra/main.parameters.json', 'infra/agent/Dockerfile', 'infra/agent/.dockerignore', 'infra/agent/start.sh', 'infra/agent/fetch-agent.sh', ...['acr-build.mjs', 'Dockerfile', '.dockerignore', 'start.ps1', 'fetch-agent.ps1'].map((f) => `infra/agent/windows/${f}`)]) {
      mkdirSync(join(dir, dirname(f)), { recursive: true });
      copyFileSync(join(repoRoot, f), join(dir, f));
    }
    const params = join(dir, 'infra/main.parameters.json');
    writeFileSync(params, readFileSync(params, 'utf8').replace('"maxAgents": 4,', '"maxAgents": 4, "spot": true,'));
    try {
      const r = await run('sh', [join(dir, 'infra/hooks/preprovision.sh')], {
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: state, FAKE_LOG: join(state, 'log'), FAKE_STATE: state, PROVIDER_POLL_SECONDS: '0', AZURE_LOCATION: 'West Europe', ACI_LOCATION: 'northeurope' },
      });
      expect(r.stderr).toMatch(/warning: a pool profile sets "spot": true; [^\n]*not northeurope: give the profile a \{"spot": false\} fallback/);
      expect(log().some((c) => c.startsWith('azd|env|set|AGENT_IMAGE_TAG|'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('postdeploy hook (sh, fake az and npm)', () => {
  const ENV = {
    AZURE_KEY_VAULT_NAME: 'kv-abc',
    AZP_TOKEN_SECRET_NAME: 'azp-token',
    WEBHOOK_PASSWORD_SECRET_NAME: 'webhook-password',
    WEBHOOK_USERNAME: 'azp-hook',
    AZURE_RESOURCE_GROUP: 'rg-dev',
    AZURE_FUNCTION_APP_NAME: 'func-abc',
    AZURE_FUNCTION_URL: 'https://func-abc.azurewebsites.net',
    FAKE_EXPECT_PASSWORD: 'hook-secret-value-0001',
  };
  const npmCalls = () => log().filter((c) => c.startsWith('npm|'));

  it('before the PAT is stored: says step 2 is to do, runs doctor with the app settings, not setup-webhook', async () => {
    reset();
    writeFileSync(join(state, 'secret-webhook-password'), ENV.FAKE_EXPECT_PASSWORD);
    const r = await hook('postdeploy.sh', { ...ENV, FAKE_NPM_EXIT: '1' }); // doctor finds the missing PAT
    expect(r.code, r.stderr).toBe(0); // never fails the deployment
    expect(r.stdout).toMatch(/Step 2, store the Azure DevOps PAT: TO DO/);
    expect(r.stdout).toMatch(/doctor found problems: fix the FAIL lines above/);
    const calls = npmCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^npm\|run\|--silent\|cli\|--\|doctor\|--settings\|[^|]+\|--url\|https:\/\/func-abc\.azurewebsites\.net\/api\/servicehook\?code=fn-key-0123\|password=$/);
  });

  it('once the PAT is stored: setup-webhook with the function URL and the webhook password, then doctor; the settings file is the app settings and is removed', async () => {
    reset();
    writeFileSync(join(state, 'secret-azp-token'), 'a-pat');
    writeFileSync(join(state, 'secret-webhook-password'), ENV.FAKE_EXPECT_PASSWORD);
    const r = await hook('postdeploy.sh', ENV);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Step 2, store the Azure DevOps PAT: done/);
    expect(r.stdout).not.toContain(ENV.FAKE_EXPECT_PASSWORD);
    const calls = npmCalls();
    expect(calls.map((c) => c.split('|')[5])).toEqual(['setup-webhook', 'doctor']);
    expect(calls[0]).toContain('|--url|https://func-abc.azurewebsites.net/api/servicehook?code=fn-key-0123|password=passed');
    expect(calls[1]).toMatch(/\|password=$/); // doctor does not get the webhook password
    const seen = JSON.parse(readFileSync(join(state, 'settings-seen.json'), 'utf8')) as { Values: Record<string, string> };
    expect(seen.Values.AZP_URL).toBe('https://dev.azure.com/contoso');
    const settingsPath = readFileSync(join(state, 'settings-path'), 'utf8').trim();
    expect(() => readFileSync(settingsPath)).toThrow(); // removed on exit
  });

  it('a failing setup-webhook does not fail the deployment and says how to run it again', async () => {
    reset();
    writeFileSync(join(state, 'secret-azp-token'), 'a-pat');
    writeFileSync(join(state, 'secret-webhook-password'), ENV.FAKE_EXPECT_PASSWORD);
    const r = await hook('postdeploy.sh', { ...ENV, FAKE_NPM_EXIT: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/setup-webhook did not finish; run it again .*npm run cli -- setup-webhook --url/);
  });
});

describe('postprovision hook (sh, fake az)', () => {
  it('builds the image with a tag from the version and commit, creates the webhook secret once, then refreshes the Key Vault references', async () => {
    reset();
    const r = await hook('postprovision.sh', POST_ENV);
    expect(r.code, r.stderr).toBe(0);
    const calls = log();
    const build = calls.find((c) => c.startsWith('acr|build|'))!;
    expect(build).toContain('|--image|azp-agent:4.269.0-0123456789ab|');
    expect(build).toContain('|--target|baked|');
    const set = calls.findIndex((c) => c.startsWith('keyvault|secret|set|'));
    const refresh = calls.findIndex((c) => c.startsWith('rest|--method|post|'));
    expect(set).toBeGreaterThan(-1);
    expect(refresh).toBeGreaterThan(set); // the reference is refreshed after the secret exists
    expect(calls[refresh]).toContain(`https://management.azure.com${POST_ENV.AZURE_FUNCTION_APP_ID}/config/configreferences/appsettings/refresh?api-version=2022-03-01`);
    expect(readFileSync(join(state, 'secret-webhook-password'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout + r.stderr).not.toContain(readFileSync(join(state, 'secret-webhook-password'), 'utf8'));

    // A second run keeps the secret (never rotated behind the service hook's back).
    writeFileSync(join(state, 'log'), '');
    const again = await hook('postprovision.sh', POST_ENV);
    expect(again.code, again.stderr).toBe(0);
    expect(log().filter((c) => c.startsWith('keyvault|secret|set|'))).toEqual([]);
  });

  it('stops when the image build fails (nothing after it runs)', async () => {
    reset();
    const r = await hook('postprovision.sh', { ...POST_ENV, FAKE_ACR_BUILD_EXIT: '1' });
    expect(r.code).not.toBe(0);
    expect(log().filter((c) => c.startsWith('keyvault') || c.startsWith('rest'))).toEqual([]);
  });
});

describe('the agent image tag and when it is built (infra/hooks/agent-image.sh)', () => {
  /** The files the tag is made from, copied with the hooks into a scratch tree, `edit` applied. */
  async function tagOf(edit: (dir: string) => void = () => {}): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'agent-tag-'));
    for (const f of ['infra/hooks/agent-image.sh', 'infra/agent/Dockerfile', 'infra/agent/.dockerignore', 'infra/agent/start.sh', 'infra/agent/fetch-agent.sh', 'infra/agent/windows/Dockerfile', 'infra/agent/windows/start.ps1', 'README.md', 'infra/agent/README.md']) {
      mkdirSync(join(dir, dirname(f)), { recursive: true });
      copyFileSync(join(repoRoot, f), join(dir, f));
    }
    edit(dir);
    const { stdout } = await run('sh', [join(dir, 'infra/hooks/agent-image.sh'), 'tag']);
    rmSync(dir, { recursive: true, force: true });
    return stdout.trim();
  }

  it('is the agent version and a hash of the build inputs: a docs-only change keeps it, an input change does not', async () => {
    const base = await tagOf();
    expect(base).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(await tagOf((d) => appendFileSync(join(d, 'README.md'), '\nmore docs\n'))).toBe(base);
    expect(await tagOf((d) => appendFileSync(join(d, 'infra/agent/README.md'), '\nmore docs\n'))).toBe(base);
    expect(await tagOf((d) => appendFileSync(join(d, 'infra/agent/start.sh'), '\n# changed\n'))).not.toBe(base);
    expect(await tagOf((d) => appendFileSync(join(d, 'infra/agent/Dockerfile'), '\n# changed\n'))).not.toBe(base);
    // The Windows image has its own tag (acr-build.mjs tag): its inputs leave the Linux tag alone.
    expect(await tagOf((d) => appendFileSync(join(d, 'infra/agent/windows/start.ps1'), '\n# changed\n'))).toBe(base);
    expect(await tagOf((d) => appendFileSync(join(d, 'infra/agent/windows/Dockerfile'), '\n# changed\n'))).toBe(base);
    // CRLF checkouts hash the same.
    expect(await tagOf((d) => writeFileSync(join(d, 'infra/agent/start.sh'), readFileSync(join(d, 'infra/agent/start.sh'), 'utf8').replace(/\n/g, '\r\n')))).toBe(base);
  });

  it('hashes exactly the files .dockerignore lets into the build context, and the Dockerfile', () => {
    const allowed = readFileSync(join(repoRoot, 'infra/agent/.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).trim());
    const script = readFileSync(join(repoRoot, 'infra/hooks/agent-image.sh'), 'utf8');
    const hashed = /for f in ([^;]+); do/.exec(script)![1]!.trim().split(/\s+/);
    expect(hashed.sort()).toEqual(['.dockerignore', 'Dockerfile', ...allowed].sort());
  });

  it('a later deploy builds the new tag in preprovision, before provision points POOLS at it; a docs-only one builds nothing', async () => {
    reset();
    writeFileSync(join(state, 'already'), providers.join('\n') + '\n');
    const env = { SKIP_REGION_CHECKS: '1', AZURE_CONTAINER_REGISTRY_NAME: 'crabc', AGENT_IMAGE_NAME: 'azp-agent' };
    const r = await hook('preprovision.sh', env);
    expect(r.code, r.stderr).toBe(0);
    const calls = log();
    const tag = calls.find((c) => c.startsWith('azd|env|set|AGENT_IMAGE_TAG|'))!.split('|')[4]!;
    const build = calls.findIndex((c) => c.startsWith('acr|build|'));
    expect(calls[build]).toContain(`|--image|azp-agent:${tag}|`);
    expect(build).toBeGreaterThan(calls.findIndex((c) => c.startsWith('azd|env|set|AGENT_IMAGE_TAG|')));
    // postprovision then finds the tag and builds nothing.
    writeFileSync(join(state, 'log'), '');
    const post = await hook('postprovision.sh', { ...POST_ENV, AGENT_IMAGE_TAG: tag });
    expect(post.code, post.stderr).toBe(0);
    expect(log().filter((c) => c.startsWith('acr|build|'))).toEqual([]);
    // A docs-only commit: the same tag, already in the registry, nothing built.
    writeFileSync(join(state, 'log'), '');
    expect((await hook('preprovision.sh', env)).code).toBe(0);
    expect(log().filter((c) => c.startsWith('acr|build|'))).toEqual([]);
  });

  it('the Windows image (AZP_WINDOWS_AGENT_SHA256 set) has its own tag and is built in the same place: preprovision on a later deploy, postprovision on a first', async () => {
    const SHA = 'ab'.repeat(32);
    writeFileSync(join(state, 'already'), providers.join('\n') + '\n');
    const tagsSet = (calls: string[]) => Object.fromEntries(calls.filter((c) => c.startsWith('azd|env|set|')).map((c) => c.split('|').slice(3, 5)));
    const builds = (calls: string[]) => calls.filter((c) => c.startsWith('acr|build|')).map((c) => c.split('|')[c.split('|').indexOf('--image') + 1]);

    // First deploy: no registry yet, so preprovision only sets both tags; postprovision (before azd
    // deploys the app) builds both.
    reset();
    writeFileSync(join(state, 'already'), providers.join('\n') + '\n');
    const first = await hook('preprovision.sh', { SKIP_REGION_CHECKS: '1', AZP_WINDOWS_AGENT_SHA256: SHA });
    expect(first.code, first.stderr).toBe(0);
    const tags = tagsSet(log());
    expect(tags.AGENT_IMAGE_TAG).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(tags.AGENT_IMAGE_TAG_WINDOWS).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}-windows$/);
    expect(tags.AGENT_IMAGE_TAG_WINDOWS!.startsWith(tags.AGENT_IMAGE_TAG!)).toBe(false); // not the Linux tag plus a suffix
    expect(builds(log())).toEqual([]);
    writeFileSync(join(state, 'log'), '');
    const env = { ...POST_ENV, AGENT_IMAGE_TAG: tags.AGENT_IMAGE_TAG!, AGENT_IMAGE_TAG_WINDOWS: tags.AGENT_IMAGE_TAG_WINDOWS!, AZP_WINDOWS_AGENT_SHA256: SHA };
    const post = await hook('postprovision.sh', env);
    expect(post.code, post.stderr).toBe(0);
    expect(builds(log())).toEqual([`azp-agent:${tags.AGENT_IMAGE_TAG}`, `azp-agent:${tags.AGENT_IMAGE_TAG_WINDOWS}`]);
    expect(log().findIndex((c) => c.startsWith('acr|build|--registry|crabc|--platform|windows|'))).toBeLessThan(log().findIndex((c) => c.startsWith('keyvault')));

    // A later deploy that changes a Windows input: the registry exists, preprovision builds the new
    // Windows tag (and not the Linux one, whose tag is unchanged) before provision points POOLS at it.
    writeFileSync(join(state, 'log'), '');
    const later = { SKIP_REGION_CHECKS: '1', AZURE_CONTAINER_REGISTRY_NAME: 'crabc', AGENT_IMAGE_NAME: 'azp-agent', AZP_WINDOWS_AGENT_SHA256: SHA };
    const newVersion = await hook('preprovision.sh', { ...later, AZP_WINDOWS_AGENT_VERSION: '4.270.1' });
    expect(newVersion.code, newVersion.stderr).toBe(0);
    const next = tagsSet(log());
    expect(next.AGENT_IMAGE_TAG).toBe(tags.AGENT_IMAGE_TAG);
    expect(next.AGENT_IMAGE_TAG_WINDOWS).toMatch(/^4\.270\.1-[0-9a-f]{12}-windows$/);
    expect(builds(log())).toEqual([`azp-agent:${next.AGENT_IMAGE_TAG_WINDOWS}`]);
    expect(log().findIndex((c) => c.startsWith('acr|build|'))).toBeGreaterThan(log().findIndex((c) => c.startsWith('azd|env|set|AGENT_IMAGE_TAG_WINDOWS|')));
    // ... and postprovision finds both tags and builds nothing.
    writeFileSync(join(state, 'log'), '');
    expect((await hook('postprovision.sh', { ...env, AGENT_IMAGE_TAG_WINDOWS: next.AGENT_IMAGE_TAG_WINDOWS!, AZP_WINDOWS_AGENT_VERSION: '4.270.1' })).code).toBe(0);
    expect(builds(log())).toEqual([]);

    // A docs-only commit: both tags as before, nothing built anywhere.
    writeFileSync(join(state, 'log'), '');
    expect((await hook('preprovision.sh', later)).code).toBe(0);
    expect(tagsSet(log())).toEqual(tags);
    expect((await hook('postprovision.sh', env)).code).toBe(0);
    expect(builds(log())).toEqual([]);
  });

  it('with PRIVATE_NETWORKING the build runs on the VNet task agent pool, or stops first and says how to get one', async () => {
    reset();
    const none = await hook('postprovision.sh', { ...POST_ENV, PRIVATE_NETWORKING: 'true' });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/refuses ACR's public build agents[\s\S]*az acr agentpool create[\s\S]*azd env set ACR_AGENT_POOL/);
    expect(log().filter((c) => c.startsWith('acr|build') || c.startsWith('keyvault') || c.startsWith('rest'))).toEqual([]);
    reset();
    const pool = await hook('postprovision.sh', { ...POST_ENV, PRIVATE_NETWORKING: 'true', ACR_AGENT_POOL: 'agents' });
    expect(pool.code, pool.stderr).toBe(0);
    expect(log().find((c) => c.startsWith('acr|build|'))).toContain('|--agent-pool|agents|');
    reset();
    await hook('postprovision.sh', POST_ENV);
    expect(log().find((c) => c.startsWith('acr|build|'))).not.toContain('--agent-pool');
  });
});

describe('agent image build commands vs the Dockerfile', () => {
  const sources = ['infra/hooks/agent-image.sh', 'infra/hooks/agent-image.ps1', 'infra/agent/README.md', 'infra/README.md', 'infra/agent/Dockerfile', 'azure.yaml'];
  const commands = sources.flatMap((s) => buildCommands(s, readFileSync(join(repoRoot, s), 'utf8')));

  it('finds the hook and doc build commands', () => {
    expect([...new Set(commands.map((c) => c.where))]).toEqual(expect.arrayContaining(['infra/hooks/agent-image.sh', 'infra/hooks/agent-image.ps1', 'infra/agent/README.md', 'infra/agent/Dockerfile']));
  });

  it('no build command leaves a required build argument unset (the pinned defaults are the one place)', () => {
    const problems = commands.flatMap((c) => missingBuildArgs(dockerfile, c.target, c.args).map((m) => `${c.where} (target ${c.target ?? 'default'}): ${m}`));
    expect(problems).toEqual([]);
  });

  it('the check can fail: the old hook (no --target, no AGENT_SHA256) against a Dockerfile without pinned checksums', () => {
    const unpinned = dockerfile.replace(/^ARG AGENT_SHA256_LINUX_X64=\S+$/m, 'ARG AGENT_SHA256_LINUX_X64=');
    const old = buildCommands('old azure.yaml', 'az acr build --registry "$R" --image "$I:$T" --platform linux/amd64 --file infra/agent/Dockerfile infra/agent --output none')[0]!;
    expect(missingBuildArgs(unpinned, old.target, old.args)).toEqual(['agent-package: AGENT_SHA256_LINUX_X64']);
    expect(missingBuildArgs(unpinned, old.target, { AGENT_SHA256_LINUX_X64: 'a'.repeat(64) })).toEqual([]);
    expect(missingBuildArgs(unpinned, 'slim', {})).toEqual([]); // the slim stage downloads nothing at build time
  });

  it('the pinned agent version and checksums are well-formed, and the docs name that version only', () => {
    const { globals } = parseDockerfile(dockerfile);
    const pin = Object.fromEntries(globals.map((g) => [g.name, g.value]));
    expect(pin.AGENT_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pin.AGENT_SHA256_LINUX_X64).toMatch(/^[0-9a-f]{64}$/);
    expect(pin.AGENT_SHA256_LINUX_ARM64).toMatch(/^[0-9a-f]{64}$/);
    expect(dockerfile).toMatch(/^FROM ubuntu:24\.04@sha256:[0-9a-f]{64} AS runtime$/m);
    for (const doc of ['infra/agent/README.md', 'infra/README.md']) {
      const text = readFileSync(join(repoRoot, doc), 'utf8');
      const versions = new Set([...text.matchAll(/\b4\.\d{3}\.\d+\b/g)].map((m) => m[0]));
      expect([...versions], doc).toEqual([pin.AGENT_VERSION]);
    }
  });
});

describe('provider registrations cover the Bicep and the app', () => {
  const bicep = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? bicep(join(dir, d.name)) : d.name.endsWith('.bicep') ? [join(dir, d.name)] : []));
  const ALWAYS_REGISTERED = new Set(['Microsoft.Resources', 'Microsoft.Authorization']);

  function unregistered(texts: { path: string; text: string }[]): string[] {
    const needed = new Map<string, string>();
    for (const { path, text } of texts) {
      // Resource types, role actions and subnet delegations all name a provider namespace.
      for (const m of text.matchAll(/'(Microsoft\.[A-Za-z]+)\/[A-Za-z/]+(?:@[\w-]+)?'/g)) if (!needed.has(m[1]!)) needed.set(m[1]!, path);
    }
    return [...needed].filter(([ns]) => !ALWAYS_REGISTERED.has(ns) && !providers.includes(ns)).map(([ns, path]) => `${ns} (${path})`);
  }

  const texts = bicep(join(repoRoot, 'infra')).map((p) => ({ path: relative(repoRoot, p), text: readFileSync(p, 'utf8') }));

  it('every namespace in the Bicep (resource types, role actions, delegations) is registered by preprovision', () => {
    expect(unregistered(texts)).toEqual([]);
    expect(providers).toContain('Microsoft.ContainerInstance'); // the app creates container groups; no template does
  });

  it('the check can fail: a new resource type without a registration', () => {
    const planted = [...texts, { path: 'infra/modules/cache.bicep', text: "resource r 'Microsoft.Cache/redis@2024-03-01' = {}" }];
    expect(unregistered(planted)).toEqual(['Microsoft.Cache (infra/modules/cache.bicep)']);
  });

  it('the PowerShell hooks run the same steps as the sh ones (text check; PowerShell is not installable here)', () => {
    const ps = (n: string): string => readFileSync(join(repoRoot, 'infra/hooks', n), 'utf8');
    expect(ps('preprovision.ps1')).toContain('infra/hooks/providers.txt');
    expect(ps('preprovision.ps1')).toMatch(/azd env set AGENT_IMAGE_TAG \$tag/);
    expect(ps('preprovision.ps1')).toMatch(/azd env set AGENT_IMAGE_TAG_WINDOWS \$windowsTag/);
    expect(ps('postprovision.ps1')).toMatch(/agent-image\.ps1'\) build/);
    expect(ps('preprovision.ps1')).toMatch(/agent-image\.ps1'\) build/);
    expect(ps('agent-image.ps1')).toMatch(/--target baked/);
    expect(ps('agent-image.ps1')).toMatch(/--agent-pool/);
    expect(ps('agent-image.ps1')).toContain("foreach ($f in 'Dockerfile', '.dockerignore', 'start.sh', 'fetch-agent.sh')");
    expect(ps('postprovision.ps1')).toMatch(/configreferences\/appsettings\/refresh\?api-version=2022-03-01/);
    expect(ps('postdeploy.ps1')).toMatch(/servicehook/);
    expect(ps('postdeploy.ps1')).toMatch(/cli -- setup-webhook --settings \$settings --url \$hookUrl/);
    expect(ps('postdeploy.ps1')).toMatch(/cli -- doctor --settings \$settings --url \$hookUrl/);
  });
});
