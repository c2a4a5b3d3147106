/**
 * infra/agent/aks/: the Kubernetes manifests, validated offline. Deployments and Jobs (and the
 * Job template inside KEDA's ScaledJob) against the Kubernetes OpenAPI schema through
 * kubernetes-models' validators; KEDA's own objects (CRDs, not in that schema) structurally.
 * Then the rules: non-root, no `latest` tag, the PAT Secret only as a read-only file, requests and
 * limits on every container. A cluster is not needed and not used.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../infra/agent/aks');

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string };
  spec: Record<string, unknown>;
}

const docs: Doc[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((d) => {
      expect(d.errors, file).toEqual([]);
      return { file, ...(d.toJS() as Omit<Doc, 'file'>) };
    }),
  );

const of = (kind: string) => docs.filter((d) => d.kind === kind);
const nameOf = (d: Doc) => `${d.file}:${d.kind}/${d.metadata.name ?? d.metadata.generateName ?? '?'}`;

/** Every pod spec: Deployments, Jobs, and the Job template of each ScaledJob. */
function podSpecs(): [string, IPodSpec][] {
  const out: [string, IPodSpec][] = [];
  for (const d of docs) {
    const spec = d.kind === 'ScaledJob' ? (d.spec.jobTargetRef as Record<string, unknown>) : d.spec;
    const template = spec?.template as { spec?: IPodSpec } | undefined;
    if (template?.spec) out.push([nameOf(d), template.spec]);
  }
  return out;
}

const TOKEN_DIR = '/var/run/secrets/azp';

describe('infra/agent/aks manifests', () => {
  it('holds a Deployment, a --once Job, a placeholder Job, and a KEDA ScaledJob with its TriggerAuthentication', () => {
    expect(docs.map(nameOf)).toEqual([
      'deployment.yaml:Deployment/azp-agent',
      'job-once.yaml:Job/azp-agent-once-',
      'scaledjob.yaml:Job/azp-agent-placeholder',
      'scaledjob.yaml:TriggerAuthentication/azp-agent',
      'scaledjob.yaml:ScaledJob/azp-agent',
    ]);
  });

  it('Deployments and Jobs validate against the Kubernetes OpenAPI schema (kubernetes-models)', () => {
    for (const d of of('Deployment')) expect(() => new Deployment(d as never).validate(), nameOf(d)).not.toThrow();
    for (const d of of('Job')) expect(() => new Job(d as never).validate(), nameOf(d)).not.toThrow();
  });

  it("each ScaledJob's jobTargetRef is a valid batch/v1 JobSpec", () => {
    for (const d of of('ScaledJob')) {
      expect(() => new Job({ metadata: { name: 'scaled' }, spec: d.spec.jobTargetRef as never }).validate(), nameOf(d)).not.toThrow();
    }
  });

  it('the schema check can fail: a wrong type or an unknown field is refused', () => {
    const d = structuredClone(of('Deployment')[0]!) as unknown as { spec: { replicas: unknown; template: { spec: Record<string, unknown> } } };
    d.spec.replicas = 'two';
    expect(() => new Deployment(d as never).validate()).toThrow(/replicas/);
    const e = structuredClone(of('Job')[0]!) as unknown as { spec: { template: { spec: Record<string, unknown> } } };
    e.spec.template.spec.restartPolicy = 'Sometimes';
    expect(() => new Job(e as never).validate()).toThrow(/restartPolicy/);
  });

  it.each(podSpecs())('%s runs as non-root, without privilege escalation or a service account token', (_n, pod) => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of pod.containers) {
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
      expect(c.securityContext?.runAsUser ?? 1, c.name).not.toBe(0);
    }
  });

  it.each(podSpecs())('%s pins the image by tag, never latest', (_n, pod) => {
    for (const c of pod.containers) {
      const m = /^(?<repo>[^@]+?)(?::(?<tag>[^:/@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(c.image ?? '');
      expect(m?.groups?.tag, c.image).toBeDefined();
      expect(m?.groups?.tag).not.toBe('latest');
      expect(c.imagePullPolicy).not.toBe('Always');
    }
  });

  it.each(podSpecs())('%s gets the PAT only as a read-only file from the Secret', (_n, pod) => {
    for (const c of pod.containers) {
      expect(c.envFrom ?? [], c.name).toEqual([]);
      expect((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name)).toEqual([]);
      expect((c.env ?? []).map((e) => e.name)).not.toContain('AZP_TOKEN');
      const tokenFile = c.env?.find((e) => e.name === 'AZP_TOKEN_FILE')?.value;
      expect(tokenFile).toBe(`${TOKEN_DIR}/token`);
      const mount = c.volumeMounts?.find((m) => m.mountPath === TOKEN_DIR);
      expect(mount?.readOnly).toBe(true);
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.secret).toMatchObject({ secretName: 'azp-agent', items: [{ key: 'token', path: 'token' }] });
      // Readable by the agent's group (fsGroup), by nobody else.
      expect(volume?.secret?.defaultMode).toBe(0o440);
      expect(pod.securityContext?.fsGroup).toBe(pod.securityContext?.runAsGroup);
    }
    // No other volume or projection carries a Secret.
    const secretVolumes = (pod.volumes ?? []).filter((v) => v.secret || v.projected?.sources?.some((s) => s.secret));
    expect(secretVolumes).toHaveLength(1);
  });

  it.each(podSpecs())('%s sets requests and limits for cpu and memory', (_n, pod) => {
    for (const c of pod.containers) {
      for (const k of ['cpu', 'memory']) {
        expect(c.resources?.requests?.[k], `${c.name} requests.${k}`).toBeDefined();
        expect(c.resources?.limits?.[k], `${c.name} limits.${k}`).toBeDefined();
      }
    }
  });

  it('agent pods run once per Job and unregister themselves (no autoscaler removes registrations here)', () => {
    const env = (pod: IPodSpec) => Object.fromEntries((pod.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    const byName = Object.fromEntries(podSpecs());
    expect(env(byName['deployment.yaml:Deployment/azp-agent']!)).toMatchObject({ AZP_RUN_MODE: 'service', AZP_UNREGISTER_ON_EXIT: '1' });
    expect(env(byName['job-once.yaml:Job/azp-agent-once-']!)).toMatchObject({ AZP_RUN_MODE: 'once', AZP_UNREGISTER_ON_EXIT: '1' });
    expect(env(byName['scaledjob.yaml:ScaledJob/azp-agent']!)).toMatchObject({ AZP_RUN_MODE: 'once', AZP_UNREGISTER_ON_EXIT: '1' });
    expect(env(byName['scaledjob.yaml:Job/azp-agent-placeholder']!)).toMatchObject({ AZP_RUN_MODE: 'placeholder', AZP_AGENT_NAME: 'aks-linux-placeholder' });
    for (const [n, pod] of podSpecs().filter(([n]) => n.includes('Job/'))) expect(pod.restartPolicy, n).toBe('Never');
  });

  it('its scaling strategy creates a Job per queued pipeline job while others run (KEDA 2.20+ counts only untaken jobs)', () => {
    // KEDA's ScaledJob strategies (docs "Scaling Jobs"; pkg/scaling/executor/scale_jobs.go):
    //   default:  maxScale - running
    //   accurate: maxScale + running > maxReplicaCount ? maxReplicaCount - running : maxScale - pending
    // maxScale from 2.20 on is the queued jobs no agent has taken (kedacore/keda#7757).
    const sj = of('ScaledJob')[0]!;
    const strategy = (sj.spec.scalingStrategy as { strategy: string }).strategy;
    const max = sj.spec.maxReplicaCount as number;
    const newJobs = (queued: number, running: number, pending: number) =>
      strategy === 'default'
        ? Math.max(0, queued - running)
        : strategy === 'accurate'
          ? queued + running > max
            ? Math.max(0, max - running)
            : Math.max(0, queued - pending)
          : NaN;
    expect(newJobs(1, 2, 0)).toBe(1); // kedacore/keda#7878: "default" made 0
    expect(newJobs(4, 4, 0)).toBe(4);
    expect(newJobs(3, 0, 1)).toBe(2); // one Job created, its pod not running yet
    expect(newJobs(max, max, 0)).toBe(0); // at maxReplicaCount
  });

  it('the ScaledJob uses the recommended settings and reads the PAT through KEDA, not the pod', () => {
    const sj = of('ScaledJob')[0]!;
    expect(sj.apiVersion).toBe('keda.sh/v1alpha1');
    expect(sj.spec).toMatchObject({
      pollingInterval: 30,
      minReplicaCount: 0,
      rollout: { strategy: 'gradual' },
      scalingStrategy: { strategy: 'accurate' },
    });
    expect(sj.spec.maxReplicaCount).toBeGreaterThan(0);
    const [trigger, ...others] = sj.spec.triggers as { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
    expect(others).toEqual([]);
    expect(trigger?.type).toBe('azure-pipelines');
    expect(trigger?.metadata).not.toHaveProperty('personalAccessTokenFromEnv');
    const pod = podSpecs().find(([n]) => n.includes('ScaledJob'))![1];
    const env = Object.fromEntries((pod.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    expect(trigger?.metadata.organizationURLFromEnv).toBe('AZP_URL');
    expect(env.AZP_URL).toBeDefined();
    expect(trigger?.metadata.poolName).toBe(env.AZP_POOL);
    // "parent" mode: the placeholder agent's registration is the capability template.
    const placeholder = Object.fromEntries(podSpecs().find(([n]) => n.includes('placeholder'))![1].containers[0]!.env!.map((e) => [e.name, e.value]));
    expect(trigger?.metadata.parent).toBe(placeholder.AZP_AGENT_NAME);
    const auth = of('TriggerAuthentication').find((t) => t.metadata.name === trigger?.authenticationRef?.name);
    expect(auth?.spec).toEqual({ secretTargetRef: [{ parameter: 'personalAccessToken', name: 'azp-agent', key: 'token' }] });
  });
});
