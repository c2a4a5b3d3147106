/**
 * Fake container registry (the v2 API's manifest HEAD) with Azure Container Registry's token
 * exchange, over HTTPS on 127.0.0.1.
 *
 * - `HEAD|GET /v2/<repository>/manifests/<tag|digest>` needs `Authorization: Bearer <access token>`;
 *   without one: 401 and `WWW-Authenticate: Bearer realm="<origin>/oauth2/token",service="<host>",
 *   scope="repository:<repository>:pull"` (the Docker token specification,
 *   docs.docker.com/reference/api/registry/auth). Unknown manifest: 404 MANIFEST_UNKNOWN.
 * - `POST /oauth2/exchange` (`grant_type=access_token&service&access_token`) → `{refresh_token}`;
 *   `POST /oauth2/token` (`grant_type=refresh_token&service&scope&refresh_token`) → `{access_token}`
 *   (azure.github.io/acr/AAD-OAuth.html). With `pullAllowed = false` the access token carries no
 *   pull right and the manifest answers 401, as ACR does for an identity without AcrPull.
 * - `GET /oauth2/token?service&scope` (anonymous) → `{token, access_token}` when `anonymousPull`.
 * - `GET` of a manifest: an OCI image index with one linux/amd64 (or windows/amd64) entry, that
 *   manifest by digest, whose config blob (`GET /v2/<repository>/blobs/<digest>`, answered like ACR
 *   with a 307 to a storage URL, here `/_storage/<digest>` without auth) carries `config.Env`
 *   with `AZP_AGENT_BAKED_VERSION` when `bakedVersions` names one for the image (opencontainers/
 *   image-spec: image-index, manifest, config; media types of specs-go/v1/mediatype.go).
 * Records every request (never the Authorization header).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './tls.js';

export interface RegistryRequest {
  method: string;
  path: string;
  status?: number;
}

export interface FakeRegistry {
  /** host:port, the registry part of an image reference. */
  readonly host: string;
  readonly requests: RegistryRequest[];
  /** Manifests present, as `repository:tag`. */
  readonly images: Set<string>;
  /** `repository:tag` → the AZP_AGENT_BAKED_VERSION its config's Env carries (none: no such variable). */
  readonly bakedVersions: Map<string, string>;
  /**
   * `repository:tag` → the compressed sizes (bytes) of its layers, named in its manifest as OCI layer
   * descriptors (image-spec descriptor.md: `mediaType`, `digest`, `size`); none: no layers.
   */
  readonly layerSizes: Map<string, number[]>;
  /** OS of every image's manifest (the index's one platform); default linux. */
  os: 'linux' | 'windows';
  /** Whether the exchanged token may pull (AcrPull); default true. */
  pullAllowed: boolean;
  /** Whether anonymous tokens are handed out (a public repository); default false. */
  anonymousPull: boolean;
  /** Requests that are neither reads nor token requests (pushes, deletes). */
  writes(): RegistryRequest[];
  close(): Promise<void>;
}

export async function startFakeRegistry(opts: { cert: TestCert; images?: string[] }): Promise<FakeRegistry> {
  const requests: RegistryRequest[] = [];
  const images = new Set(opts.images ?? []);
  const refresh = new Set<string>();
  const access = new Map<string, boolean>();
  let host = '';
  const state = { pullAllowed: true, anonymousPull: false, os: 'linux' as 'linux' | 'windows' };
  const bakedVersions = new Map<string, string>();
  const layerSizes = new Map<string, number[]>();
  const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
  /** The config, manifest and index of an image, as the registry would store them. */
  const documents = (image: string) => {
    const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
    const v = bakedVersions.get(image);
    if (v) env.push(`AZP_AGENT_BAKED_VERSION=${v}`);
    const config = JSON.stringify({
      architecture: 'amd64',
      os: state.os,
      config: { Env: env },
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: (layerSizes.get(image) ?? []).map((size, i) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: digestOf(`${image} layer ${i}`),
        size,
      })),
    });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: digestOf(manifest),
          size: manifest.length,
          platform: { architecture: 'amd64', os: state.os },
        },
      ],
    });
    return { config, manifest, index };
  };
  const server: Server = createServer({ key: opts.cert.key, cert: opts.cert.cert }, (req, res) => {
    const u = new URL(req.url ?? '/', 'https://127.0.0.1');
    const rec: RegistryRequest = { method: req.method ?? 'GET', path: u.pathname };
    requests.push(rec);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        rec.status = status;
        const text = body === undefined || rec.method === 'HEAD' ? '' : JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      };
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const token = () => randomBytes(16).toString('hex');
      if (u.pathname === '/oauth2/exchange' && rec.method === 'POST') {
        if (form.get('grant_type') !== 'access_token' || !form.get('access_token'))
          return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid grant' }] });
        const t = token();
        refresh.add(t);
        return send(200, { refresh_token: t });
      }
      if (u.pathname === '/oauth2/token' && rec.method === 'POST') {
        if (!refresh.has(form.get('refresh_token') ?? ''))
          return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid refresh token' }] });
        const t = token();
        access.set(t, state.pullAllowed);
        return send(200, { access_token: t });
      }
      if (u.pathname === '/oauth2/token' && rec.method === 'GET') {
        if (!state.anonymousPull)
          return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
        const t = token();
        access.set(t, true);
        return send(200, { token: t, access_token: t });
      }
      const storage = /^\/_storage\/(sha256:[0-9a-f]{64})$/.exec(u.pathname);
      if (storage && rec.method === 'GET') {
        for (const image of images) {
          const d = documents(image);
          if (digestOf(d.config) === storage[1]) {
            rec.status = 200;
            res.writeHead(200, { 'content-type': 'application/octet-stream' });
            return res.end(d.config);
          }
        }
        return send(404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] });
      }
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(u.pathname);
      if (m && (rec.method === 'HEAD' || rec.method === 'GET')) {
        const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer || !access.get(bearer))
          return send(
            401,
            { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
            {
              'www-authenticate': `Bearer realm="https://${host}/oauth2/token",service="${host}",scope="repository:${m[1]}:pull"`,
            },
          );
        const [, repo, kind, ref] = m as unknown as [string, string, string, string];
        const mine = [...images].filter((i) => i.startsWith(`${repo}:`));
        if (kind === 'blobs') {
          const hit = mine.map(documents).find((d) => digestOf(d.config) === ref);
          if (!hit) return send(404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] });
          return send(307, undefined, { location: `https://${host}/_storage/${ref}` });
        }
        const byTag = images.has(`${repo}:${ref}`) ? documents(`${repo}:${ref}`) : undefined;
        const byDigest = mine.map(documents).find((d) => digestOf(d.manifest) === ref);
        if (!byTag && !byDigest)
          return send(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
        const [type, text] = byTag
          ? ['application/vnd.oci.image.index.v1+json', byTag.index]
          : ['application/vnd.oci.image.manifest.v1+json', byDigest!.manifest];
        rec.status = 200;
        res.writeHead(200, { 'content-type': type, 'docker-content-digest': digestOf(text) });
        return res.end(rec.method === 'HEAD' ? '' : text);
      }
      return send(404, { errors: [{ code: 'NOT_FOUND', message: 'no route' }] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    requests,
    images,
    bakedVersions,
    layerSizes,
    get os() {
      return state.os;
    },
    set os(v) {
      state.os = v;
    },
    get pullAllowed() {
      return state.pullAllowed;
    },
    set pullAllowed(v) {
      state.pullAllowed = v;
    },
    get anonymousPull() {
      return state.anonymousPull;
    },
    set anonymousPull(v) {
      state.anonymousPull = v;
    },
    writes: () => requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && !r.path.startsWith('/oauth2/')),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
