/**
 * API calls per steady-state pass at 10, 100 and 1,000 owned groups (all agents busy), with the
 * real clients against the local HTTPS fakes. Run: npx tsx bench/api-calls.bench.ts
 * The count must not grow with the number of groups, except for the list's pages.
 */
import { Agent } from 'undici';
import { buildDeps, reconcileOptions } from '../src/app/deps.js';
import { loadSettings } from '../src/config/load.js';
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
const rows: string[] = [];
for (const n of [10, 100, 1000]) {
  const azdo = await startFakeAzdo({ https: cert, pat: PAT });
  const arm = await startFakeArm({ cert });
  const kv = await startFakeKeyVault({ cert, secrets: { 'azp-token': PAT } });
  const dispatcher = new Agent({ connect: { ca: cert.cert } });
  azdo.addPool('aci');
  for (let i = 0; i < n; i++) {
    const name = `azp-linux-${i.toString(36).padStart(12, '0')}`;
    arm.seed(name, {
      resourceGroup: 'rg',
      subscriptionId: SUB,
      tags: {
        'managed-by': 'azp-aci-autoscaler',
        'autoscaler-id': 'default',
        'azp-pool': 'aci',
        'azp-profile': 'linux',
        'created-at': new Date().toISOString(),
      },
    });
    azdo.registerAgent('aci', name);
    // A demand no registration lists keeps the fake's matchedAgents short (1,000 × 1,000 otherwise).
    azdo.assignJob(azdo.queueJob('aci', ['bench']).requestId, name);
  }
  azdo.registerAgent('aci', 'azp-linux-placeholder', {}, { status: 'offline' });
  const settings = loadSettings(
    {
      AZP_URL: azdo.url,
      KEY_VAULT_URL: kv.url,
      ARM_ENDPOINT: arm.url,
      AZURE_SUBSCRIPTION_ID: SUB,
      ACI_RESOURCE_GROUP: 'rg',
      ACI_LOCATION: 'westeurope',
      POOLS: JSON.stringify([{ name: 'linux', pool: 'aci', image: 'x', maxAgents: 1000, capabilities: ['bench'] }]),
    },
    { requireAzure: true },
  );
  const deps = buildDeps(settings, memoryLogger(), {
    credential: fakeCredential(),
    azure: { ca: cert.cert },
    azdoDispatcher: dispatcher,
  });
  await reconcile(reconcileOptions(settings), deps); // warm: pool id cached, PAT read
  arm.clearRequests();
  azdo.clearRequests();
  const t = performance.now();
  const r = await reconcile(reconcileOptions(settings), deps);
  const ms = performance.now() - t;
  const view = r.pools[0]!.plan!.views[0]!;
  rows.push(
    `${String(n).padStart(5)} groups | Azure DevOps ${azdo.requests.length} | ARM ${arm.requests.length} (list pages of 100: ${arm.requests.filter((q) => q.method === 'GET').length}, writes ${arm.requests.filter((q) => q.method !== 'GET').length}) | busy ${view.busy} | pass ${ms.toFixed(0)} ms`,
  );
  await Promise.all([azdo.close(), arm.close(), kv.close(), dispatcher.close()]);
}
console.log('API calls per steady-state pass (all agents busy):');
for (const r of rows) console.log(r);
