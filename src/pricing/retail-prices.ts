/**
 * ACI unit prices from the public Azure Retail Prices API, OPT-IN only (`npm run cost --
 * --live-prices`): nothing calls it by default, in tests (they serve a recorded answer locally) or
 * in CI. Unauthenticated `GET https://prices.azure.com/api/retail/prices?$filter=…`
 * (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices): a page
 * `{BillingCurrency, CustomerEntityId, CustomerEntityType, Items: [{currencyCode, tierMinimumUnits,
 * retailPrice, unitPrice, armRegionName, location, effectiveStartDate, meterId, meterName,
 * productId, skuId, productName, skuName, serviceName, serviceId, serviceFamily, unitOfMeasure,
 * type, isPrimaryMeterRegion, armSkuName}], NextPageLink, Count}`, USD by default.
 * ACI's Linux standard meters: service "Container Instances", SKU "Standard", meters
 * "Standard vCPU Duration" and "Standard Memory Duration" (per vCPU-hour, per GB-hour).
 */
import { request, type Dispatcher } from 'undici';

export const RETAIL_PRICES_URL = 'https://prices.azure.com/api/retail/prices';

export interface LiveAciPrices {
  perVcpuSecond: number;
  perGbSecond: number;
  region: string;
  currency: string;
  /** The newest effectiveStartDate of the two meters (YYYY-MM-DD). */
  effective: string;
  /** Where they came from, for the output's "prices:" line. */
  source: string;
}

interface Item {
  currencyCode?: string;
  retailPrice?: number;
  unitPrice?: number;
  tierMinimumUnits?: number;
  armRegionName?: string;
  effectiveStartDate?: string;
  meterName?: string;
  skuName?: string;
  productName?: string;
  serviceName?: string;
  unitOfMeasure?: string;
  type?: string;
}

/** Seconds in a unitOfMeasure such as "1 Hour", "100 Hours", "1 Second"; undefined for others. */
export function unitSeconds(unit: string | undefined): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(second|minute|hour|day)s?\s*$/i.exec(unit ?? '');
  if (!m) return undefined;
  const per = { second: 1, minute: 60, hour: 3600, day: 86_400 }[m[2]!.toLowerCase() as 'second'];
  return Number(m[1]) * per;
}

/** The Linux standard (not Spot, not Windows, not confidential) meter of `kind` in the items. */
function pick(items: readonly Item[], kind: 'vCPU' | 'Memory'): Item | undefined {
  return items.find(
    (i) =>
      i.serviceName === 'Container Instances' &&
      i.type === 'Consumption' &&
      i.skuName === 'Standard' &&
      (i.tierMinimumUnits ?? 0) === 0 &&
      new RegExp(`^Standard ${kind} Duration$`, 'i').test(i.meterName ?? '') &&
      unitSeconds(i.unitOfMeasure) !== undefined,
  );
}

export interface FetchOptions {
  region: string;
  /** The API's URL (tests: a local server with a recorded answer). */
  url?: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  maxPages?: number;
}

/** The ACI Linux unit prices of `region`; throws with a one-line reason when they cannot be had. */
export async function fetchAciPrices(o: FetchOptions): Promise<LiveAciPrices> {
  if (!/^[a-z0-9]+$/.test(o.region)) throw new Error(`'${o.region}' is not an Azure region name (e.g. westeurope)`);
  const base = new URL(o.url ?? RETAIL_PRICES_URL);
  const filter = `serviceName eq 'Container Instances' and armRegionName eq '${o.region}' and priceType eq 'Consumption'`;
  let next: string | undefined = `${base.origin}${base.pathname}?$filter=${encodeURIComponent(filter)}`;
  const items: Item[] = [];
  for (let page = 0; next && page < (o.maxPages ?? 10); page++) {
    const res = await request(next, {
      headers: { accept: 'application/json' },
      headersTimeout: o.timeoutMs ?? 15_000,
      bodyTimeout: o.timeoutMs ?? 15_000,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`the Retail Prices API answered ${res.statusCode}`);
    const body = JSON.parse(text) as { Items?: unknown; NextPageLink?: unknown };
    if (!Array.isArray(body.Items)) throw new Error('the Retail Prices API answer has no Items');
    items.push(...(body.Items as Item[]));
    if (pick(items, 'vCPU') && pick(items, 'Memory')) break;
    // Only follow pages of the same API (never a host the answer names).
    const link = typeof body.NextPageLink === 'string' ? new URL(body.NextPageLink, base) : undefined;
    next = link && link.origin === base.origin ? link.toString() : undefined;
  }
  const cpu = pick(items, 'vCPU');
  const mem = pick(items, 'Memory');
  if (!cpu || !mem)
    throw new Error(`no Container Instances Standard vCPU/Memory Duration prices for region ${o.region}`);
  const price = (i: Item) => (i.retailPrice ?? i.unitPrice ?? NaN) / unitSeconds(i.unitOfMeasure)!;
  const perVcpuSecond = price(cpu);
  const perGbSecond = price(mem);
  if (!(perVcpuSecond >= 0) || !(perGbSecond >= 0)) throw new Error('the Retail Prices API answer has no price');
  const effective = [cpu.effectiveStartDate, mem.effectiveStartDate]
    .filter((d): d is string => typeof d === 'string')
    .sort()
    .at(-1)
    ?.slice(0, 10);
  return {
    perVcpuSecond,
    perGbSecond,
    region: o.region,
    currency: cpu.currencyCode ?? 'USD',
    effective: effective ?? 'undated',
    source: `${base.host} (Azure Retail Prices API)`,
  };
}
