/**
 * ajv validator for ARM container-group PUT bodies against the ACI OpenAPI 2026-05-01
 * (contracts/aci/containerInstance.2026-05-01.json, `ContainerGroup` definition).
 * The spec's external common-types $refs (ProxyResource, systemData, ErrorResponse) are not in the
 * contracts: they are replaced by local stubs with the common-types v5 shapes.
 *
 * By default the check is strict: besides the OpenAPI rules, properties the spec does not define are
 * rejected (`unevaluatedProperties: false`), which catches a model that was not serialized the way
 * ARM expects (e.g. `containers` at the top level instead of under `properties`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { contractsDir } from './paths.js';

const COMMON = /^(?:\.\.\/)+common-types\/resource-management\/v5\/types\.json#\/(definitions|parameters)\/(.+)$/;

const STUBS: Record<string, unknown> = {
  __common_systemData: {
    type: 'object',
    properties: {
      createdBy: { type: 'string' },
      createdByType: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
      lastModifiedBy: { type: 'string' },
      lastModifiedByType: { type: 'string' },
      lastModifiedAt: { type: 'string', format: 'date-time' },
    },
  },
  __common_Resource: {
    type: 'object',
    properties: {
      id: { type: 'string', readOnly: true },
      name: { type: 'string', readOnly: true },
      type: { type: 'string', readOnly: true },
      systemData: { $ref: '#/definitions/__common_systemData' },
    },
  },
  __common_ProxyResource: { type: 'object', allOf: [{ $ref: '#/definitions/__common_Resource' }] },
  __common_ErrorResponse: {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          target: { type: 'string' },
          details: { type: 'array' },
        },
      },
    },
  },
};

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      const m = COMMON.exec(v);
      out[k] = m ? `#/definitions/__common_${m[2]}` : v;
    } else out[k] = rewriteRefs(v);
  }
  return out;
}

/** Adds `unevaluatedProperties: false` to every object schema that lists its properties. */
function closeObjects(defs: Record<string, unknown>): void {
  const visit = (node: unknown, root: boolean): void => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) {
      if (Array.isArray(node)) node.forEach((n) => visit(n, false));
      return;
    }
    const o = node as Record<string, unknown>;
    // Only at a schema's root level (allOf parts are evaluated together by unevaluatedProperties).
    if (root && o.properties && o.additionalProperties === undefined) o.unevaluatedProperties = false;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'properties' && v && typeof v === 'object') {
        for (const p of Object.values(v as Record<string, unknown>)) visit(p, true);
      } else if (k === 'items' || k === 'additionalProperties') visit(v, true);
      else if (k !== 'allOf') visit(v, false);
    }
  };
  // Base types pulled in through allOf must stay open: the derived schema closes over both.
  const bases = new Set<string>();
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(collect);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'allOf' && Array.isArray(v)) {
        for (const part of v as { $ref?: string }[])
          if (part.$ref?.startsWith('#/definitions/')) bases.add(part.$ref.slice(14));
      }
      collect(v);
    }
  };
  collect(defs);
  for (const [name, d] of Object.entries(defs)) if (!bases.has(name)) visit(d, true);
}

const cache = new Map<boolean, ValidateFunction>();

function compile(strict: boolean): ValidateFunction {
  const hit = cache.get(strict);
  if (hit) return hit;
  const spec = JSON.parse(readFileSync(join(contractsDir(), 'aci/containerInstance.2026-05-01.json'), 'utf8')) as {
    definitions: Record<string, unknown>;
  };
  const definitions = rewriteRefs({ ...spec.definitions, ...STUBS }) as Record<string, unknown>;
  if (strict) closeObjects(definitions);
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: true });
  const addFormats = addFormatsModule as unknown as (a: Ajv2019) => Ajv2019;
  addFormats(ajv);
  ajv.addFormat('arm-id', true);
  const validate = ajv.compile({ definitions, $ref: '#/definitions/ContainerGroup' });
  cache.set(strict, validate);
  return validate;
}

/** Errors of a ContainerGroup PUT body (wire JSON) against the ACI OpenAPI; [] when valid. */
export function validateContainerGroupPut(body: unknown, opts: { strict?: boolean } = {}): string[] {
  const validate = compile(opts.strict ?? true);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra =
      e.keyword === 'unevaluatedProperties'
        ? ` '${String((e.params as { unevaluatedProperty?: string }).unevaluatedProperty)}'`
        : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}
