/**
 * Every fake the real adapters talk to, started together over HTTPS with one self-signed cert:
 * Azure DevOps (PAT = `pat`), ARM, Key Vault (secret `azp-token` = `pat`), a fake credential and an
 * undici dispatcher that trusts the cert. `env()` gives the app settings that point at them.
 */
import { Agent } from 'undici';
import { startFakeArm, type FakeArm } from './arm.js';
import { startFakeAzdo, type FakeAzdo } from './azdo.js';
import { fakeCredential, type FakeCredential } from './credential.js';
import { startFakeKeyVault, type FakeKeyVault } from './keyvault.js';
import { makeTestCert, type TestCert } from './tls.js';

export interface FakeStack {
  cert: TestCert;
  azdo: FakeAzdo;
  arm: FakeArm;
  kv: FakeKeyVault;
  credential: FakeCredential;
  dispatcher: Agent;
  /** App settings for these fakes; `extra` overrides or adds (POOLS, AUTOSCALER_ID, …). */
  env(extra: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function startFakeStack(opts: {
  pat: string;
  subscriptionId: string;
  resourceGroup: string;
  kvSecret?: string;
}): Promise<FakeStack> {
  const cert = makeTestCert();
  const azdo = await startFakeAzdo({ https: cert, pat: opts.pat });
  const arm = await startFakeArm({ cert });
  const kv = await startFakeKeyVault({ cert, secrets: { 'azp-token': opts.kvSecret ?? opts.pat } });
  const credential = fakeCredential();
  const dispatcher = new Agent({ connect: { ca: cert.cert } });
  return {
    cert,
    azdo,
    arm,
    kv,
    credential,
    dispatcher,
    env: (extra) => ({
      AZP_URL: azdo.url,
      KEY_VAULT_URL: kv.url,
      ARM_ENDPOINT: arm.url,
      AZURE_SUBSCRIPTION_ID: opts.subscriptionId,
      ACI_RESOURCE_GROUP: opts.resourceGroup,
      ACI_LOCATION: 'westeurope',
      ...extra,
    }),
    close: async () => {
      await Promise.all([azdo.close(), arm.close(), kv.close(), dispatcher.close()]);
    },
  };
}
