/**
 * API calls per steady-state pass at 10, 100 and 1,000 owned groups (all agents busy), with the
 * real clients against the local HTTPS fakes. Run: npx tsx bench/api-calls.bench.ts
 * The count must not grow with the number of groups, except for the lists' pages: ARM's (100 groups
 * a page, nextLink) and Azure DevOps' (200 job requests / 1,000 agents a page, x-ms-continuationtoken;
 * see test/fakes/azdo.ts FakePaging). A list that fits one page costs one request.
 *
 * Then the ownership check (src/reconcile/ownership.ts): Azure DevOps calls of two passes in a row
 * with registrations named like ours and no group of ours behind them: another deployment's
 * booting agents, a person's, and one orphan of ours.
 */
import { Agent } from 'undici';
import { buildDeps, reconcileOptions } from '../src/app/deps.js';
import { loadSettings } from '../src/config/load.js';
import type { Settings } from '../src/config/schema.js';
import { identityEnv } from '../src/core/ownership.js';
import { reconcile } from '../src/reconcile/pass.js';
import { memoryLogger } from '../src/util/log.js';
import { startFakeArm } from '../test/fakes/arm.js';
import { startFakeAzdo } from '../test/fakes/azdo.js';
import { fakeCredential } from '../test/fakes/credential.js';
import { startFakeKeyVault } from '../test/fakes/keyvault.js';
import { makeTestCert } from '../test/fakes/tls.js';

const PAT = 'bench-pat-0123456789abcdefghijklmnopqrstuvwxyz';
const SUB = '00000000-0000-0000-0000-0000000000bb';
const cert = makeTestCert();

/** The three HTTPS fakes, one pool 'aci', and a dispatcher trusting their certificate. */
async function startFakes(azdoOptions: { now?: () => Date } = {}) {
  const azdo = await startFakeAzdo({ https: cert, pat: PAT, ...azdoOptions });
  const arm = await startFakeArm({ cert });
  const kv = await startFakeKeyVault({ cert, secrets: { 'azp-token': PAT } });
  const dispatcher = new Agent({ connect: { ca: cert.cert } });
  azdo.addPool('aci');
  const close = () => Promise.all([azdo.close(), arm.close(), kv.close(), dispatcher.close()]);
  return { azdo, arm, kv, dispatcher, close };
}
type Fakes = Awaited<ReturnType<typeof startFakes>>;

/** Settings for the fakes with one profile 'linux' on pool 'aci' (image 'x') plus `profile`. */
function settingsFor({ azdo, arm, kv }: Fakes, profile: Record<string, unknown>) {
  return loadSettings(
    {
      AZP_URL: azdo.url,
      KEY_VAULT_URL: kv.url,
      ARM_ENDPOINT: arm.url,
      AZURE_SUBSCRIPTION_ID: SUB,
      ACI_RESOURCE_GROUP: 'rg',
      ACI_LOCATION: 'westeurope',
      POOLS: JSON.stringify([{ name: 'linux', pool: 'aci', image: 'x', ...profile }]),
    },
    { requireAzure: true },
  );
}

/** The real clients against the fakes (production retry options). */
function depsFor(settings: Settings, { dispatcher }: Fakes) {
  return buildDeps(settings, memoryLogger(), {
    credential: fakeCredential(),
    azure: { ca: cert.cert },
    azdoDispatcher: dispatcher,
  });
}

/** A group of the default deployment's profile 'linux' on pool 'aci' (no azp-role tag). */
function seedOurs({ arm }: Fakes, name: string, createdAt: string) {
  arm.seed(name, {
    resourceGroup: 'rg',
    subscriptionId: SUB,
    tags: {
      'managed-by': 'azp-aci-autoscaler',
      'autoscaler-id': 'default',
      'azp-pool': 'aci',
      'azp-profile': 'linux',
      'created-at': createdAt,
    },
  });
}

const rows: string[] = [];
for (const n of [10, 100, 1000]) {
  const fakes = await startFakes();
  const { azdo, arm } = fakes;
  for (let i = 0; i < n; i++) {
    const name = `azp-linux-${i.toString(36).padStart(12, '0')}`;
    seedOurs(fakes, name, new Date().toISOString());
    azdo.registerAgent('aci', name);
    // A demand no registration lists keeps the fake's matchedAgents short (1,000 × 1,000 otherwise).
    azdo.assignJob(azdo.queueJob('aci', ['bench']).requestId, name);
  }
  azdo.registerAgent('aci', 'azp-linux-placeholder', {}, { status: 'offline' });
  const settings = settingsFor(fakes, { maxAgents: 1000, capabilities: ['bench'] });
  const deps = depsFor(settings, fakes);
  await reconcile(reconcileOptions(settings), deps); // warm: pool id cached, PAT read
  arm.clearRequests();
  azdo.clearRequests();
  const t = performance.now();
  const r = await reconcile(reconcileOptions(settings), deps);
  const ms = performance.now() - t;
  const view = r.pools[0]!.plan!.views[0]!;
  rows.push(
    `${String(n).padStart(5)} groups | Azure DevOps ${azdo.requests.length} (job-request pages of 200: ${azdo.requests.filter((q) => q.path.endsWith('/jobrequests')).length}, agent pages of 1,000: ${azdo.requests.filter((q) => q.path.endsWith('/agents') && !q.query.agentName).length}) | ARM ${arm.requests.length} (list pages of 100: ${arm.requests.filter((q) => q.method === 'GET').length}, writes ${arm.requests.filter((q) => q.method !== 'GET').length}) | busy ${view.busy} | pass ${ms.toFixed(0)} ms`,
  );
  await fakes.close();
}
console.log('API calls per steady-state pass (all agents busy):');
for (const r of rows) console.log(r);

const own: string[] = [];
for (const [theirs, people, mine] of [
  [0, 0, 0],
  [9, 0, 0],
  [100, 0, 0],
  [0, 6, 0],
  [0, 0, 1],
  [9, 6, 1],
] as const) {
  // Registered an hour ago, longer than the boot timeout: a fresh one with no group is left alone
  // as one of our booting agents a lagging list may hide (core/rules/orphans.ts).
  const fakes = await startFakes({ now: () => new Date(Date.now() - 3_600_000) });
  const { azdo } = fakes;
  const settings = settingsFor(fakes, { placeholder: false });
  const opts = reconcileOptions(settings);
  const env = (name: string, id: string) => ({
    ...identityEnv({ ...opts.identity!, autoscalerId: id }),
    AZP_AGENT_NAME: name,
  });
  const name = (kind: string, i: number) => `azp-linux-${kind}${i.toString(36).padStart(19, '0')}`;
  for (let i = 0; i < theirs; i++)
    azdo.registerAgent('aci', name('t', i), {}, { status: 'offline', env: env(name('t', i), 'other') });
  for (let i = 0; i < people; i++) azdo.registerAgent('aci', name('p', i), {}, { status: 'offline' });
  for (let i = 0; i < mine; i++)
    azdo.registerAgent('aci', name('m', i), {}, { status: 'offline', env: env(name('m', i), 'default') });
  const deps = depsFor(settings, fakes);
  await deps.azdo.resolvePoolId('aci'); // cached from here on, as in a warm process
  const counts: string[] = [];
  for (let pass = 1; pass <= 2; pass++) {
    azdo.clearRequests();
    await reconcile(opts, deps);
    const q = azdo.requests;
    const caps = q.filter((x) => x.query.includeCapabilities === 'true').length;
    const writes = q.filter((x) => x.method !== 'GET').length;
    counts.push(`pass ${pass}: ${q.length} (capability reads ${caps}, writes ${writes})`);
  }
  const left = azdo.state.agents.length;
  own.push(
    `${String(theirs).padStart(3)} theirs, ${people} a person's, ${mine} ours | Azure DevOps ${counts.join(' | ')} | registrations left ${left} of ${theirs + people + mine}`,
  );
  await fakes.close();
}
console.log('Ownership check: Azure DevOps calls per pass, registrations named like ours with no group behind them:');
for (const r of own) console.log(r);

// Acting: a pass that safely deletes 10 idle agents (disable → the agent and its requests read →
// delete), and a pass that creates 10, each Azure DevOps request answered after 50 ms.
const acting: string[] = [];
{
  const fakes = await startFakes();
  const { azdo, arm } = fakes;
  const old = new Date(Date.now() - 3_600_000).toISOString();
  for (let i = 0; i < 10; i++) {
    const name = `azp-linux-${i.toString(36).padStart(20, '0')}`;
    seedOurs(fakes, name, old);
    azdo.registerAgent('aci', name);
  }
  const settings = settingsFor(fakes, { placeholder: false, maxLifetimeSec: 60, maxAgents: 10 });
  const deps = depsFor(settings, fakes);
  await deps.azdo.resolvePoolId('aci');
  await deps.secrets.getToken();
  azdo.inject({ delayMs: 50, times: Infinity });
  for (const what of ['10 safe deletes', '10 creates']) {
    if (what === '10 creates') for (let i = 0; i < 10; i++) azdo.queueJob('aci', []);
    azdo.clearRequests();
    arm.clearRequests();
    const t = performance.now();
    await reconcile(reconcileOptions(settings), deps);
    const ms = performance.now() - t;
    const q = azdo.requests;
    acting.push(
      `${what.padEnd(15)} | Azure DevOps ${q.length} (GET ${q.filter((x) => x.method === 'GET').length}, writes ${q.filter((x) => x.method !== 'GET').length}) | ARM writes ${arm.requests.filter((x) => x.method !== 'GET').length} | pass ${ms.toFixed(0)} ms`,
    );
  }
  await fakes.close();
}
console.log('Acting (each Azure DevOps request answered after 50 ms; pool state in memory):');
for (const r of acting) console.log(r);
