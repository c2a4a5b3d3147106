/**
 * One schema over the app settings and the pool profiles. Parsed once at the edge
 * (Functions entry points, CLI); domain code receives the typed result.
 * Error messages name the setting and the problem, never the value.
 */
import { z } from 'zod';
import {
  AGENT_NAME_RANDOM_CHARS,
  AGENT_NAME_SUFFIX_CHARS,
  agentName,
  isValidGroupName,
  placeholderName,
} from '../core/names.js';
import { poolKey } from '../core/pools.js';
import { AGENT_ENV_NAME, agentEnvNameProblem } from './agent-env.js';
import { imageReferenceProblem, REGISTRY_HOST } from './image-ref.js';
import { ncrontabProblem } from './ncrontab.js';
import { isPlaceholder, placeholderMessage } from './placeholders.js';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Largest Windows container group ACI deploys (Windows Server 2022 LTSC, standard SKU). */
export const WINDOWS_LIMITS = { cpu: 4, memoryGb: 16 } as const;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** https URL; plain http only for loopback hosts (local fakes). */
function isServiceUrl(value: string): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/**
 * The organization URL for an Azure DevOps Services URL (dev.azure.com/ORG or ORG.visualstudio.com,
 * optionally with the legacy /DefaultCollection); undefined for other hosts (Azure DevOps Server:
 * a collection URL has a path that cannot be told from a project by its form). The agent pools API
 * is organization-scoped (GET {organization}/_apis/distributedtask/pools), so a project path breaks it.
 */
function organizationUrlOf(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  const segments = u.pathname.split('/').filter(Boolean);
  const host = u.hostname.toLowerCase();
  if (host === 'dev.azure.com' && segments.length > 0) return `${u.origin}/${segments[0]}`;
  if (host.endsWith('.visualstudio.com')) {
    const keep = segments[0]?.toLowerCase() === 'defaultcollection' ? `/${segments[0]}` : '';
    return `${u.origin}${keep}`;
  }
  return undefined;
}

/** A string that is not a placeholder of the sample settings. */
const filled = (what: string) =>
  z.string({ error: 'must be text' }).refine((v) => !isPlaceholder(v), { message: placeholderMessage(what) });

const serviceUrl = (what: string, yours: string) =>
  filled(yours)
    .trim()
    .refine(isServiceUrl, { message: `must be an https URL (${what}), without credentials` })
    .transform((s) => s.replace(/\/+$/, ''));

const guid = (what: string) =>
  filled(`your ${what}`)
    .trim()
    .regex(UUID, { message: `must be a ${what} (GUID)` });

/** Why a number came in as something else: JSON numbers only, no coercion of text, booleans, null or arrays. */
const notANumber = (iss: { input?: unknown }) =>
  typeof iss.input === 'string' ? 'must be a JSON number, not text' : 'must be a number';

const bool = z.boolean({ error: 'must be true or false (a JSON boolean)' });

const boolish = z.union([z.boolean(), z.string().trim().toLowerCase()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'must be true or false' });
  return z.NEVER;
});

const intIn = (min: number, max: number) =>
  z
    .number({ error: notANumber })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

export const standbyWindowSchema = z
  .object({
    days: z.array(intIn(0, 6)).optional(),
    start: z.string().regex(HHMM, { message: 'must be HH:MM (24h)' }),
    end: z.string().regex(HHMM, { message: 'must be HH:MM (24h)' }),
    count: intIn(0, 1000),
  })
  .strict();

export const profileSchema = z
  .object({
    /** Profile name: lowercase letters, digits, hyphens; part of every agent name. */
    name: z
      .string()
      .max(20, { message: 'must be at most 20 characters' })
      .regex(NAME, {
        message: 'must be lowercase letters, digits and hyphens, not starting or ending with a hyphen',
      })
      // ACI container group names: "between 1 and 63 characters long, must contain only lowercase
      // letters, numbers, and dashes and it cannot start or end with a dash and consecutive dashes
      // are not allowed" (learn.microsoft.com, Azure.ResourceManager.Resources
      // ScriptContainerConfiguration.ContainerGroupName; the OpenAPI in contracts/aci gives the
      // path parameter no pattern). Every agent name is a group name: a--b would fail every create.
      .refine((n) => !n.includes('--'), {
        message:
          'must not contain two hyphens in a row (every agent name is a container group name, where ACI refuses "--")',
      }),
    /** Azure DevOps agent pool name. */
    pool: z.string().trim().min(1, { message: 'is required' }).max(256),
    /** Capabilities the image satisfies: {"java": "", "Agent.OS": "Linux"} or ["java", "maven"]. */
    capabilities: z
      .union([z.record(z.string(), z.string()), z.array(z.string().min(1))])
      .default({})
      .transform((c) => (Array.isArray(c) ? Object.fromEntries(c.map((k) => [k, ''])) : c)),
    matchMode: z.enum(['subset', 'requireAll', 'requireAllAndIgnoreOthers']).default('subset'),
    caseSensitive: bool.default(false),
    minAgents: intIn(0, 1000).default(0),
    maxAgents: intIn(0, 1000).default(10),
    standby: z.array(standbyWindowSchema).default([]),
    timeZone: z
      .string()
      .default('UTC')
      .refine(isTimeZone, { message: 'must be an IANA time zone, e.g. Europe/Berlin' }),
    maxCreatePerPass: intIn(1, 500).default(10),
    bootTimeoutSec: intIn(30, 7200).default(600),
    idleTimeoutSec: intIn(0, 86400).default(300),
    maxLifetimeSec: intIn(0, 30 * 86400).default(86400),
    keepFailed: intIn(0, 100).default(0),
    placeholder: bool.default(true),
    // ----- warm agents from a wait target (src/core/rules/warm.ts) -----
    /** The p95 queue wait wanted, seconds: keeps k warm idle agents sized from λ and B. Absent = off. */
    targetWaitSec: intIn(0, 3600).optional(),
    /** Cost ceiling on warm agents (default maxAgents). */
    maxWarmAgents: intIn(0, 1000).optional(),
    image: filled('your agent image reference')
      .min(1, { message: 'is required (container image reference)' })
      .superRefine((ref, ctx) => {
        const problem = ref === '' ? undefined : imageReferenceProblem(ref);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /**
     * The agent image's size, MB, as `docker images` shows it (what ACI pulls on a cold create;
     * ACI's documented limit is 15 GB). Optional and informational: the controller does not read
     * it; the simulator's cold path does (src/sim/cold-path.ts).
     */
    imageSizeMB: intIn(1, 15360).optional(),
    cpu: z
      .number({ error: notANumber })
      .positive({ message: 'must be > 0' })
      .max(32, { message: 'must be at most 32' })
      .default(2),
    memoryGb: z
      .number({ error: notANumber })
      .positive({ message: 'must be > 0' })
      .max(256, { message: 'must be at most 256' })
      .default(4),
    os: z.enum(['Linux', 'Windows']).default('Linux'),
    spot: bool.default(false),
    /** Full ARM id of a subnet delegated to Microsoft.ContainerInstance/containerGroups. */
    subnetId: filled('your subnet resource id')
      .regex(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i,
        {
          message: 'must be a subnet resource id (/subscriptions/…/subnets/NAME)',
        },
      )
      .optional(),
    /** Private registry pulled with a user-assigned managed identity (AcrPull). */
    registry: z
      .object({
        server: filled('your registry login server')
          .trim()
          .min(1, { message: 'is required' })
          .regex(REGISTRY_HOST, { message: 'must be a registry host[:port], e.g. myacr.azurecr.io' }),
        identity: filled('your identity resource id').regex(
          /^\/subscriptions\/.+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i,
          {
            message: 'must be a user-assigned identity resource id',
          },
        ),
      })
      .strict()
      .optional(),
    /**
     * Fallback placements, tried in order when ACI answers a create, or fails a group after
     * accepting it, with a capacity or quota error: another region and/or Spot → regular. Each
     * retry uses a new group name. Default none (today's behaviour).
     */
    fallback: z
      .array(
        z
          .object({
            location: z
              .string()
              .trim()
              .regex(/^[a-z0-9]+$/, { message: 'must be an Azure region name, e.g. northeurope' })
              .optional(),
            spot: bool.optional(),
          })
          .strict(),
      )
      .max(5, { message: 'must list at most 5 placements' })
      .default([]),
    /** Extra plain environment variables for the agent container (become agent capabilities). */
    env: z
      .record(z.string(), z.string({ error: 'env values must be text' }))
      .default({})
      .superRefine((e, ctx) => {
        for (const name of Object.keys(e)) {
          const problem = agentEnvNameProblem(name);
          // A name of the allowed shape is safe to print; anything else might be a pasted value.
          if (problem)
            ctx.addIssue({
              code: 'custom',
              path: AGENT_ENV_NAME.test(name) ? [name] : [],
              message: AGENT_ENV_NAME.test(name) ? problem : `names ${problem}`,
            });
        }
      }),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.minAgents > p.maxAgents)
      ctx.addIssue({ code: 'custom', path: ['minAgents'], message: 'must not exceed maxAgents' });
    if (p.maxWarmAgents !== undefined && p.maxWarmAgents > p.maxAgents)
      ctx.addIssue({ code: 'custom', path: ['maxWarmAgents'], message: 'must not exceed maxAgents' });
    if (p.maxWarmAgents !== undefined && p.targetWaitSec === undefined)
      ctx.addIssue({ code: 'custom', path: ['maxWarmAgents'], message: 'has no effect without targetWaitSec' });
    p.standby.forEach((w, i) => {
      if (w.count > p.maxAgents)
        ctx.addIssue({ code: 'custom', path: ['standby', i, 'count'], message: 'must not exceed maxAgents' });
    });
    if (p.os === 'Windows') {
      // ACI's Windows limits (Microsoft Learn, "Resource availability & quota limits for ACI",
      // Windows Server 2022 LTSC: 4 CPU, 16 GB per container group; "Virtual network scenarios":
      // only Linux containers in a virtual network; Spot containers: Linux only).
      if (p.cpu > WINDOWS_LIMITS.cpu)
        ctx.addIssue({
          code: 'custom',
          path: ['cpu'],
          message: `must be at most ${WINDOWS_LIMITS.cpu} for Windows (ACI's Windows limit)`,
        });
      if (p.memoryGb > WINDOWS_LIMITS.memoryGb)
        ctx.addIssue({
          code: 'custom',
          path: ['memoryGb'],
          message: `must be at most ${WINDOWS_LIMITS.memoryGb} for Windows (ACI's Windows limit)`,
        });
      if (p.subnetId)
        ctx.addIssue({
          code: 'custom',
          path: ['subnetId'],
          message: 'ACI cannot place Windows containers in a virtual network',
        });
      if (p.spot) ctx.addIssue({ code: 'custom', path: ['spot'], message: 'Spot containers support Linux only' });
    }
    if (p.spot && p.subnetId)
      ctx.addIssue({
        code: 'custom',
        path: ['spot'],
        message: 'Spot containers cannot join a virtual network (subnetId)',
      });
    p.fallback.forEach((f, i) => {
      if (f.spot && (p.os === 'Windows' || p.subnetId))
        ctx.addIssue({
          code: 'custom',
          path: ['fallback', i, 'spot'],
          message: 'Spot containers support Linux only, outside a virtual network',
        });
      // A subnet lives in one region: a group in another region cannot join it.
      if (f.location && p.subnetId)
        ctx.addIssue({
          code: 'custom',
          path: ['fallback', i, 'location'],
          message: 'a profile with subnetId cannot fall back to another region (the subnet is regional)',
        });
    });
  });

export type ProfileConfig = z.output<typeof profileSchema>;

export const settingsSchema = z
  .object({
    AZP_URL: serviceUrl('https://dev.azure.com/ORG or a Server collection URL', 'your organization URL').superRefine(
      (url, ctx) => {
        const org = organizationUrlOf(url);
        if (org && org !== url)
          ctx.addIssue({
            code: 'custom',
            message: `must be the organization URL without a project or page (agent pools belong to the organization): ${org}`,
          });
      },
    ),
    AZP_AUTH: z.enum(['pat', 'entra'], { message: "must be 'pat' or 'entra'" }).default('pat'),
    /**
     * Azure DevOps REST API version. Unset: 7.1, or the lower version an Azure DevOps Server names
     * when it refuses 7.1 (Server 2022: 7.0, Server 2020: 6.0), discovered once per process.
     */
    AZP_API_VERSION: z
      .string()
      .trim()
      .regex(/^\d+\.\d+$/, { message: 'must be a REST API version such as 7.0 or 6.0' })
      .optional(),
    KEY_VAULT_URL: serviceUrl('https://NAME.vault.azure.net', 'your Key Vault URL').optional(),
    AZP_TOKEN_SECRET_NAME: z
      .string()
      .regex(/^[0-9a-zA-Z-]{1,127}$/, { message: 'must be a Key Vault secret name (letters, digits, hyphens)' })
      .default('azp-token'),
    AZURE_SUBSCRIPTION_ID: guid('subscription id').optional(),
    ACI_RESOURCE_GROUP: z
      .string()
      .trim()
      .regex(/^[-\w._()]{1,90}$/, { message: 'must be a resource group name' })
      .optional(),
    ACI_LOCATION: z
      .string()
      .trim()
      .regex(/^[a-z0-9]+$/, { message: 'must be an Azure region name, e.g. westeurope' })
      .optional(),
    ARM_ENDPOINT: serviceUrl('ARM endpoint', 'your ARM endpoint').default('https://management.azure.com'),
    AZURE_CLIENT_ID: guid('client id').optional(),
    // Not trimmed: the host splits on spaces only, so a tab or line break would break the timer.
    SCALE_SCHEDULE: z
      .string()
      .superRefine((s, ctx) => {
        const problem = ncrontabProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('0 */1 * * * *'),
    DRY_RUN: boolish.default(false),
    WEBHOOK_USERNAME: z.string().min(1).optional(),
    WEBHOOK_PASSWORD: filled('a long random value (e.g. openssl rand -base64 32)')
      .min(12, { message: 'must be at least 12 characters' })
      .optional(),
    /** Ownership: only groups tagged with this id are ever touched. */
    AUTOSCALER_ID: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, { message: 'must be lowercase letters, digits, hyphens (max 40)' })
      .default('default'),
    /** Prefix of every agent / container group name. */
    AGENT_NAME_PREFIX: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,9}$/, { message: 'must be 1-10 lowercase letters/digits, starting with a letter' })
      .default('azp'),
    /**
     * The Functions host's storage, which also holds the per-pool lease and back-off state
     * (src/storage): a connection string (Azurite: UseDevelopmentStorage=true), or the identity-based
     * form below (Flex Consumption, infra/modules/function.bicep), which the host reads as well.
     */
    AzureWebJobsStorage: z.string().min(1).optional(),
    AzureWebJobsStorage__accountName: z
      .string()
      .trim()
      .regex(/^[a-z0-9]{3,24}$/, { message: 'must be a storage account name (3-24 lowercase letters and digits)' })
      .optional(),
    AzureWebJobsStorage__blobServiceUri: serviceUrl(
      'the blob endpoint, https://ACCOUNT.blob.core.windows.net',
      'your blob endpoint',
    ).optional(),
    AzureWebJobsStorage__queueServiceUri: serviceUrl(
      'the queue endpoint, https://ACCOUNT.queue.core.windows.net',
      'your queue endpoint',
    ).optional(),
    /** 'managedidentity' for the identity-based connection (read by the host). */
    AzureWebJobsStorage__credential: z.string().trim().min(1).optional(),
    /** The user-assigned identity for storage; AZURE_CLIENT_ID when unset. */
    AzureWebJobsStorage__clientId: guid('client id').optional(),
    /**
     * Container-group creates in flight at once. 25: 200 creates in ~8 s at 1 s per PUT, inside
     * ARM's write bucket (200 writes, refilled at 10/s per subscription and principal).
     */
    CREATE_CONCURRENCY: z
      .union([z.number(), z.string().trim().regex(/^\d+$/, { message: 'must be a whole number' })])
      .transform(Number)
      .pipe(intIn(1, 100))
      .default(25),
    POOLS: z.array(profileSchema).min(1, { message: 'must list at least one pool profile' }),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    // Azure DevOps pool names ignore case: two spellings would be two passes on one pool (one job → two agents).
    const spelling = new Map<string, { pool: string; at: number }>();
    s.POOLS.forEach((p, i) => {
      const first = spelling.get(poolKey(p.pool));
      if (!first) spelling.set(poolKey(p.pool), { pool: p.pool, at: i });
      else if (first.pool !== p.pool) {
        ctx.addIssue({
          code: 'custom',
          path: ['POOLS', i, 'pool'],
          message: `'${p.pool}' and POOLS[${first.at}].pool '${first.pool}' name the same Azure DevOps pool (pool names ignore case): spell it one way`,
        });
      }
      if (seen.has(p.name))
        ctx.addIssue({ code: 'custom', path: ['POOLS', i, 'name'], message: `duplicate profile name '${p.name}'` });
      seen.add(p.name);
      const longest = s.AGENT_NAME_PREFIX.length + 1 + p.name.length + 1 + AGENT_NAME_SUFFIX_CHARS;
      if (longest > 63)
        ctx.addIssue({
          code: 'custom',
          path: ['POOLS', i, 'name'],
          message: 'prefix + profile name too long for a 63-character group name',
        });
      else if (
        NAME.test(p.name) &&
        !p.name.includes('--') &&
        [
          agentName(s.AGENT_NAME_PREFIX, p.name, 0, '0'.repeat(AGENT_NAME_RANDOM_CHARS)),
          placeholderName(s.AGENT_NAME_PREFIX, p.name),
        ].some((n) => !isValidGroupName(n))
      )
        // Whatever the name's own rules let through: the names we would create must be valid group names.
        ctx.addIssue({
          code: 'custom',
          path: ['POOLS', i, 'name'],
          message: 'with AGENT_NAME_PREFIX, its agent names would not be valid container group names',
        });
    });
  });

export type Settings = z.output<typeof settingsSchema>;

/** Settings needed to talk to Azure (not needed by the simulator). */
export const AZURE_REQUIRED = ['KEY_VAULT_URL', 'AZURE_SUBSCRIPTION_ID', 'ACI_RESOURCE_GROUP', 'ACI_LOCATION'] as const;
