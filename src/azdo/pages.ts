/**
 * Reading a whole Azure DevOps list for ./client.ts: every page by continuation token, each item
 * once.
 */
import { AzdoError } from './errors.js';
import type { RawResponse } from './http.js';
import { headerValue } from '../util/http-hints.js';

/** Response header naming the next page of a list; sent back as `continuationToken=`. */
const CONTINUATION_HEADER = 'x-ms-continuationtoken';
/** Bound on the pages of one list read (200 job requests or 1,000 agents a page on the service). */
const MAX_PAGES = 100;

/** Items that appeared on two pages (the list moved between reads) are kept once: the later read, the first place. */
export function lastById<T>(items: T[], key: (x: T) => number): T[] {
  const byId = new Map<number, T>();
  for (const x of items) byId.set(key(x), x);
  return [...byId.values()];
}

/**
 * Azure DevOps pages long lists: "REST responses that do not contain all items include an HTTP
 * header x-ms-continuationtoken … This value must be provided on a subsequent call as a
 * continuationToken parameter to query the remaining items (repeated as necessary until the server
 * does not include the x-ms-continuationtoken header)" (Azure DevOps REST docs, as quoted in
 * microsoft/azure-devops-rust-api#15; for job requests the generated client reads the same header:
 * microsoft/azure-devops-extension-api TaskAgentClient.getAgentRequests). One request when the list
 * fits one page; a token seen twice, or more than MAX_PAGES pages, is a bad response (never a loop).
 */
export async function readPages<T>(
  basePath: string,
  page: (path: string) => Promise<{ res: RawResponse; items: T[] }>,
  resolve: (path: string) => string,
): Promise<{ items: T[]; lastPage: number }> {
  const out: T[] = [];
  const seen = new Set<string>();
  let path = basePath;
  for (let n = 1; ; n++) {
    const { res, items } = await page(path);
    out.push(...items);
    const token = headerValue(res.headers ?? {}, CONTINUATION_HEADER);
    if (!token) return { items: out, lastPage: items.length };
    if (seen.has(token) || n >= MAX_PAGES) {
      throw new AzdoError({
        kind: 'badResponse',
        method: 'GET',
        path: resolve(basePath),
        status: res.status,
        detail: seen.has(token)
          ? 'the same continuation token came back twice'
          : `more than ${MAX_PAGES} pages of ${out.length} items`,
      });
    }
    seen.add(token);
    path = `${basePath}&continuationToken=${encodeURIComponent(token)}`;
  }
}
