/**
 * The agent image exists and can be read: `HEAD /v2/<repository>/manifests/<tag|digest>` (the
 * registry HTTP API v2), answering a 401 Bearer challenge as the Docker token specification says
 * (docs.docker.com/reference/api/registry/auth: `WWW-Authenticate: Bearer realm=…,service=…,scope=…`,
 * GET realm?service&scope → `{token | access_token}`). For a registry a profile pulls with a managed
 * identity (`registry`, ACR), the token comes from ACR's exchange (azure.github.io/acr/AAD-OAuth.html):
 * POST /oauth2/exchange `grant_type=access_token&service&access_token=<Entra token>` → refresh_token,
 * POST /oauth2/token `grant_type=refresh_token&service&scope=repository:<repo>:pull&refresh_token` →
 * access_token. Only reads: HEAD, and the token requests.
 *
 * It reads with this machine's identity (az login), not the pull identity of the container groups,
 * which only ACI can use: an `ok` here says the image exists; the pull identity's AcrPull role is
 * what infra/modules/registry.bicep assigns.
 */
import type { TokenCredential } from '@azure/core-auth';
import { request, type Dispatcher } from 'undici';
import type { ProfileConfig } from '../config/schema.js';
import { fail, ok, problemText, warn, type CheckResult } from './report.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface ImageRef {
  registry: string;
  repository: string;
  reference: string;
}

/** Docker's normalisation: no registry → Docker Hub (`library/` for one-part names), no tag → latest. */
export function parseImage(image: string): ImageRef {
  const [namePart, digest] = image.split('@') as [string, string | undefined];
  const slash = namePart.indexOf('/');
  const first = slash >= 0 ? namePart.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'registry-1.docker.io';
  let rest = hasRegistry ? namePart.slice(slash + 1) : namePart;
  const colon = rest.lastIndexOf(':');
  let tag = 'latest';
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!hasRegistry && !rest.includes('/')) rest = `library/${rest}`;
  return {
    registry: registry === 'docker.io' ? 'registry-1.docker.io' : registry,
    repository: rest,
    reference: digest ?? tag,
  };
}

function challenge(header: string | string[] | undefined): Record<string, string> | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h || !/^bearer\s/i.test(h)) return undefined;
  const out: Record<string, string> = {};
  for (const m of h.slice(7).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out.realm ? out : undefined;
}

export interface ImageCheckOptions {
  credential: TokenCredential;
  /** Entra scope for the ACR exchange (an ARM token is accepted); default the ARM endpoint's. */
  armScope: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

async function send(
  url: string,
  method: 'HEAD' | 'GET' | 'POST',
  headers: Record<string, string>,
  o: ImageCheckOptions,
  body?: string,
) {
  const res = await request(url, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    headersTimeout: o.timeoutMs ?? 15_000,
    bodyTimeout: o.timeoutMs ?? 15_000,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
  });
  const text = method === 'HEAD' ? '' : await res.body.text();
  if (method === 'HEAD') await res.body.dump();
  return { status: res.statusCode, headers: res.headers, text };
}

const form = (v: Record<string, string>) => new URLSearchParams(v).toString();

async function bearerToken(
  ref: ImageRef,
  c: Record<string, string>,
  profile: ProfileConfig,
  o: ImageCheckOptions,
): Promise<string | undefined> {
  const scope = c.scope ?? `repository:${ref.repository}:pull`;
  const service = c.service ?? ref.registry;
  if (profile.registry) {
    const origin = new URL(c.realm!).origin;
    const entra = await o.credential.getToken(o.armScope);
    if (!entra) throw new Error(`no Entra ID token for ${o.armScope}`);
    const ct = { 'content-type': 'application/x-www-form-urlencoded' };
    const ex = await send(
      `${origin}/oauth2/exchange`,
      'POST',
      ct,
      o,
      form({ grant_type: 'access_token', service, access_token: entra.token }),
    );
    if (ex.status !== 200)
      throw new Error(`the registry refused this identity's Entra ID token (oauth2/exchange ${ex.status})`);
    const refresh = (JSON.parse(ex.text) as { refresh_token?: string }).refresh_token ?? '';
    const tk = await send(
      `${origin}/oauth2/token`,
      'POST',
      ct,
      o,
      form({ grant_type: 'refresh_token', service, scope, refresh_token: refresh }),
    );
    if (tk.status !== 200) throw new Error(`the registry gave no pull token (oauth2/token ${tk.status})`);
    return (JSON.parse(tk.text) as { access_token?: string }).access_token;
  }
  const url = new URL(c.realm!);
  url.searchParams.set('service', service);
  url.searchParams.set('scope', scope);
  const tk = await send(url.toString(), 'GET', { accept: 'application/json' }, o);
  if (tk.status !== 200) return undefined;
  const j = JSON.parse(tk.text) as { token?: string; access_token?: string };
  return j.token ?? j.access_token;
}

/** The image check's result and, when the image's config could be read, the agent version it bakes. */
export interface ImageProbe {
  result: CheckResult;
  /** `AZP_AGENT_BAKED_VERSION` from the image config's Env (infra/agent/Dockerfile sets it). */
  bakedVersion?: string;
  /** What a pull downloads, MB (10^6 bytes): the config and (compressed) layer sizes the manifest names. */
  pulledMB?: number;
}

export async function imageCheck(profile: ProfileConfig, o: ImageCheckOptions): Promise<CheckResult> {
  return (await imageProbe(profile, o)).result;
}

/**
 * What the image's manifest and config say: the agent version it bakes and the size of a pull. The
 * manifest (an OCI image index or Docker manifest list: the entry for the profile's OS on amd64), its
 * config descriptor, the config blob (`config.Env`), per the OCI image spec (opencontainers/image-spec:
 * image-index, manifest, config; media types application/vnd.oci.image.{index,manifest,config}.v1+json).
 * The pull is the config's and the layers' descriptor `size` (bytes, compressed as stored; a Windows
 * image's foreign base layers included, since ACI pulls what it has not cached). A blob GET may answer
 * with a redirect to storage (ACR): followed once, without our token. Each fact undefined when unreadable.
 */
async function imageFacts(
  base: string,
  ref: ImageRef,
  os: string,
  token: string | undefined,
  o: ImageCheckOptions,
): Promise<{ bakedVersion?: string; pulledMB?: number }> {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const json = async (url: string) => {
    let res = await send(url, 'GET', { accept: MANIFEST_TYPES, ...auth }, o);
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(res.status) && typeof location === 'string')
      res = await send(new URL(location, url).toString(), 'GET', { accept: '*/*' }, o);
    return res.status === 200 ? (JSON.parse(res.text) as Record<string, unknown>) : undefined;
  };
  try {
    let manifest = await json(`${base}/manifests/${ref.reference}`);
    const entries = manifest?.manifests;
    if (Array.isArray(entries)) {
      const want = os === 'Windows' ? 'windows' : 'linux';
      const entry = (entries as { digest?: string; platform?: { os?: string; architecture?: string } }[]).find(
        (m) => m.platform?.os === want && m.platform.architecture === 'amd64',
      );
      manifest = entry?.digest ? await json(`${base}/manifests/${entry.digest}`) : undefined;
    }
    const pulledMB = pullSize(manifest);
    const sized = pulledMB !== undefined ? { pulledMB } : {};
    const digest = (manifest?.config as { digest?: unknown } | undefined)?.digest;
    if (typeof digest !== 'string') return sized;
    const config = await json(`${base}/blobs/${digest}`);
    const env = (config?.config as { Env?: unknown } | undefined)?.Env;
    const line = Array.isArray(env)
      ? env.find((e): e is string => typeof e === 'string' && e.startsWith('AZP_AGENT_BAKED_VERSION='))
      : undefined;
    const v = line?.slice('AZP_AGENT_BAKED_VERSION='.length);
    return v && /^\d+\.\d+\.\d+$/.test(v) ? { ...sized, bakedVersion: v } : sized;
  } catch {
    return {};
  }
}

/** The config's and layers' descriptor sizes of an image manifest, MB (undefined: no layers named). */
function pullSize(manifest: Record<string, unknown> | undefined): number | undefined {
  const layers = manifest?.layers;
  if (!Array.isArray(layers) || layers.length === 0) return undefined;
  const sizes = [manifest?.config, ...layers].map((d) => (d as { size?: unknown } | undefined)?.size);
  if (!sizes.every((n): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0)) return undefined;
  return Math.round(sizes.reduce((a, b) => a + b, 0) / 1e6);
}

/**
 * The check's line with the pull size. The registry names compressed layer sizes only; `imageSizeMB`
 * is the unpacked size `docker images` shows (ACI's troubleshooting page looks it up that way, and the
 * simulator's cold path is calibrated to it), which is at least the download: a smaller one is warned.
 */
function sizeNote(profile: ProfileConfig, pulledMB: number | undefined): { text: string; warnFix?: string } {
  if (pulledMB === undefined) return { text: '' };
  const text = `; a pull downloads ${pulledMB} MB (compressed layers)`;
  const set = `set "imageSizeMB" on profile ${profile.name} to the size \`docker images\` shows for it (at least ${pulledMB}): simulate models its pull from it`;
  if (profile.imageSizeMB === undefined) return { text: `${text}; imageSizeMB is not set` };
  if (profile.imageSizeMB < pulledMB)
    return { text: `${text}, more than the profile's imageSizeMB ${profile.imageSizeMB}`, warnFix: set };
  return { text };
}

export async function imageProbe(profile: ProfileConfig, o: ImageCheckOptions): Promise<ImageProbe> {
  const ref = parseImage(profile.image);
  const url = `https://${ref.registry}/v2/${ref.repository}/manifests/${ref.reference}`;
  const pullFix = profile.registry
    ? `give this identity (and the pull identity ${profile.registry.identity.split('/').pop()}) AcrPull on the registry ${profile.registry.server}`
    : 'make the repository public, or set the profile\'s "registry" (server + identity with AcrPull)';
  try {
    let res = await send(url, 'HEAD', { accept: MANIFEST_TYPES }, o);
    let token: string | undefined;
    if (res.status === 401) {
      const c = challenge(res.headers['www-authenticate']);
      token = c ? await bearerToken(ref, c, profile, o) : undefined;
      if (token) res = await send(url, 'HEAD', { accept: MANIFEST_TYPES, authorization: `Bearer ${token}` }, o);
    }
    if (res.status === 200) {
      const base = `https://${ref.registry}/v2/${ref.repository}`;
      const facts = await imageFacts(base, ref, profile.os, token, o);
      const size = sizeNote(profile, facts.pulledMB);
      const text = `image ${profile.image} exists and this identity can read it${size.text}`;
      return { result: size.warnFix ? warn('image', text, size.warnFix) : ok('image', text), ...facts };
    }
    if (res.status === 404)
      return {
        result: fail(
          'image',
          `image ${profile.image}: the registry has no such manifest (404)`,
          'build and push it (azd provision builds the agent image), or correct POOLS[].image',
        ),
      };
    if (res.status === 401 || res.status === 403)
      return {
        result: fail(
          'image',
          `image ${profile.image}: the registry refuses to let this identity read it (${res.status})`,
          pullFix,
        ),
      };
    return {
      result: fail(
        'image',
        `image ${profile.image}: the registry answered ${res.status}`,
        'check the registry and try again',
      ),
    };
  } catch (err) {
    return { result: fail('image', `image ${profile.image}: ${problemText(err)}`, pullFix) };
  }
}
