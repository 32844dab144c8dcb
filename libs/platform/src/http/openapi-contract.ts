import { Readable } from 'node:stream';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { HTTP_METHODS, JsonSchema } from './openapi';
import {
  ContractViolation,
  appendContractRecord,
  contractStore,
  formatViolation,
  operationKey,
} from './openapi-contract-store';

/**
 * The OpenAPI contract check, for tests (OPENAPI_CONTRACT_CHECK, set by the test environment):
 * every response of a documented operation is checked against the service's own document —
 * its status must be documented, its Content-Type one of that response's media types, and a JSON
 * body must match the schema (ajv, JSON Schema 2020-12 with formats). A response that does not is
 * replaced by a 500 naming the violation, and the violation is recorded (contractStore, and
 * OPENAPI_CONTRACT_DIR) for the jest hooks to fail the test file and the run with. Operations
 * answered are recorded too, for the coverage check. Loaded only when enabled.
 */
export function installContractCheck(
  fastify: FastifyInstance,
  document: OpenAPIObject,
  options: { service: string; dir?: string },
): void {
  const operations = new Map<string, Operation>();
  for (const [path, item] of Object.entries(document.paths))
    for (const method of HTTP_METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (op) operations.set(operationKey(method, path), op);
    }
  const store = contractStore();
  for (const key of operations.keys()) store.documented.add(`${options.service} ${key}`);
  if (options.dir)
    appendContractRecord(options.dir, {
      kind: 'documented',
      service: options.service,
      operations: [...operations.keys()],
    });
  const validators = new SchemaValidators(document);

  fastify.addHook('onSend', (req, reply, payload, done) => {
    const route = req.routeOptions?.url;
    // HEAD is GET without the body; unrouted requests (404) and undocumented routes are not operations.
    if (!route || req.method === 'HEAD') return done(null, payload);
    const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const key = operationKey(req.method, path);
    const op = operations.get(key);
    if (!op) return done(null, payload);
    const status = reply.statusCode;
    const answered = `${options.service} ${key}`;
    let statuses = store.exercised.get(answered);
    if (!statuses) store.exercised.set(answered, (statuses = new Set()));
    if (!statuses.has(status)) {
      statuses.add(status);
      if (options.dir)
        appendContractRecord(options.dir, { kind: 'exercised', service: options.service, operation: key, status });
    }
    let problem: string | null;
    try {
      problem = checkResponse(validators, key, op, status, reply.getHeader('content-type'), payload);
    } catch (err) {
      problem = `the contract check failed: ${(err as Error).message}`;
    }
    if (!problem) return done(null, payload);
    const violation: ContractViolation = { service: options.service, method: req.method, path, status, problem };
    store.violations.push(violation);
    if (options.dir) appendContractRecord(options.dir, { kind: 'violation', ...violation });
    if (payload instanceof Readable) payload.destroy();
    reply.code(500).header('content-type', 'application/json; charset=utf-8');
    reply.removeHeader('content-length');
    reply.removeHeader('content-disposition');
    done(
      null,
      JSON.stringify({
        statusCode: 500,
        error: 'OpenAPI contract violation',
        message: formatViolation(violation),
      }),
    );
  });
}

type Operation = { responses?: Record<string, ResponseObject> };
type ResponseObject = { content?: Record<string, { schema?: JsonSchema }> };

const isJsonType = (type: string) => type === 'application/json' || type.endsWith('+json');

function mediaTypeMatches(documented: string, actual: string): boolean {
  const d = documented.split(';')[0].trim().toLowerCase();
  if (d === '*/*' || d === actual) return true;
  return d.endsWith('/*') && actual.startsWith(d.slice(0, -1));
}

function checkResponse(
  validators: SchemaValidators,
  key: string,
  op: Operation,
  status: number,
  contentTypeHeader: unknown,
  payload: unknown,
): string | null {
  const responses = op.responses ?? {};
  const statusKey = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k]);
  if (!statusKey) return `status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`;
  const content = responses[statusKey].content ?? {};
  const type = String(contentTypeHeader ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  const empty =
    payload === undefined || payload === null || payload === '' || (Buffer.isBuffer(payload) && payload.length === 0);
  const mediaTypes = Object.keys(content);
  if (!mediaTypes.length)
    return empty ? null : `response ${statusKey} is documented without a body, but it has a ${type || 'typeless'} body`;
  if (empty) return `response ${statusKey} is documented with a body (${mediaTypes.join(', ')}), but it is empty`;
  const mediaType = mediaTypes.find((m) => mediaTypeMatches(m, type));
  if (!mediaType)
    return `Content-Type ${type || '(none)'} is not documented for ${statusKey} (documented: ${mediaTypes.join(', ')})`;
  const schema = content[mediaType].schema;
  // Bodies are checked where they are JSON and at hand (a stream is bytes on their way).
  if (!schema || !isJsonType(type) || !(typeof payload === 'string' || Buffer.isBuffer(payload))) return null;
  let body: unknown;
  try {
    body = JSON.parse(payload.toString());
  } catch {
    return `the body is not JSON although its Content-Type is ${type}`;
  }
  const validate = validators.get(`${key} ${statusKey} ${mediaType}`, schema);
  if (validate(body)) return null;
  return `the body does not match the documented schema: ${describeErrors(validate.errors ?? [])}`;
}

function describeErrors(errors: ErrorObject[]): string {
  const shown = errors.slice(0, 8).map((e) => {
    const at = e.instancePath || '(body)';
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)})`
          : '';
    return `${at} ${e.message}${extra}`;
  });
  return shown.join('; ') + (errors.length > 8 ? `; and ${errors.length - 8} more` : '');
}

const DOC_ID = 'openapi:document';

/** ajv validators for the document's schemas, compiled once each, `#/components/schemas/X` resolved. */
class SchemaValidators {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(document: OpenAPIObject) {
    addFormats(this.ajv);
    const components = (document.components?.schemas ?? {}) as Record<string, JsonSchema>;
    this.ajv.addSchema({ $id: DOC_ID, $defs: rewriteRefs(components) }, DOC_ID);
  }

  get(key: string, schema: JsonSchema): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) this.compiled.set(key, (validate = this.ajv.compile(rewriteRefs(schema) as JsonSchema)));
    return validate;
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `${DOC_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`
        : rewriteRefs(v),
    ]),
  );
}
