/**
 * Which Azure DevOps organization (or Server collection) a URL names, in one comparable form:
 *   https://dev.azure.com/Org/...          → dev.azure.com/org
 *   https://org.visualstudio.com/...       → dev.azure.com/org
 *   https://vssps.dev.azure.com/org/...    → dev.azure.com/org
 *   https://tfs.example.com/tfs/Coll/      → tfs.example.com/tfs/coll (Server: the whole path)
 */
export function orgKey(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const host = u.hostname.toLowerCase();
  const segs = u.pathname
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponentSafe(s).toLowerCase());
  if (host === 'dev.azure.com' || host.endsWith('.dev.azure.com'))
    return segs[0] ? `dev.azure.com/${segs[0]}` : undefined;
  if (host.endsWith('.visualstudio.com'))
    return `dev.azure.com/${host.slice(0, -'.visualstudio.com'.length).split('.').pop() ?? ''}`;
  return [host + (u.port ? `:${u.port}` : ''), ...segs].join('/');
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * 'ours' when one of the payload's base URLs names AZP_URL's organization, 'other' when they name
 * another one, 'unknown' when the payload carries no base URL (the docs' samples carry only ids).
 */
export function matchOrg(
  azpUrl: string,
  baseUrls: readonly (string | null | undefined)[],
): 'ours' | 'other' | 'unknown' {
  const ours = orgKey(azpUrl);
  const keys = baseUrls.filter((u): u is string => typeof u === 'string' && u.length > 0).map(orgKey);
  if (keys.length === 0) return 'unknown';
  return keys.some((k) => k !== undefined && k === ours) ? 'ours' : 'other';
}
