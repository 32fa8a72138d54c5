/**
 * GitHub's official OpenAPI description (npm @octokit/openapi) as a checker: find the operation a
 * request is for, check its path and query parameters, headers and JSON body, and check the
 * response the fake server sends back. Every deviation is a violation the tests fail on, so the
 * fake cannot drift into accepting what GitHub would refuse or answering what GitHub never would.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: object;
}

interface OperationObject {
  operationId: string;
  parameters?: Array<ParameterObject | { $ref: string }>;
  requestBody?: { required?: boolean; content: Record<string, { schema?: object }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: object }> }>;
}

interface Spec {
  paths: Record<string, Record<string, OperationObject>>;
  components: {
    parameters: Record<string, ParameterObject>;
    responses: Record<string, { content?: Record<string, { schema?: object }> }>;
  };
}

export interface Operation {
  id: string;
  method: string;
  template: string;
  params: Record<string, string>;
}

interface CompiledOperation {
  id: string;
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  parameters: ParameterObject[];
  requestBody: OperationObject['requestBody'];
  responses: OperationObject['responses'];
}

const SPEC_ID = 'github';

export class OpenApiChecker {
  private readonly spec: Spec;
  private readonly ajv: Ajv;
  private readonly operations: CompiledOperation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(paths: readonly string[]) {
    const require = createRequire(import.meta.url);
    this.spec = JSON.parse(
      readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8'),
    ) as Spec;
    // OpenAPI 3.0 schemas: `nullable` is understood by Ajv; the rest of OpenAPI's keywords
    // (example, x-github, …) are annotations to ignore.
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    this.ajv.addSchema({ components: this.spec.components }, SPEC_ID);
    for (const template of paths) {
      const item = this.spec.paths[template];
      if (!item) throw new Error(`the GitHub OpenAPI description has no path ${template}`);
      for (const [method, operation] of Object.entries(item)) {
        if (typeof operation !== 'object' || !('operationId' in operation)) continue;
        const names: string[] = [];
        const pattern = new RegExp(
          `^${template.replace(/\{(\w+)\}/g, (_, name: string) => {
            names.push(name);
            return '([^/]+)';
          })}$`,
        );
        this.operations.push({
          id: operation.operationId,
          method: method.toUpperCase(),
          template,
          pattern,
          names,
          parameters: (operation.parameters ?? []).map((p) => this.deref<ParameterObject>(p)),
          requestBody: operation.requestBody,
          responses: operation.responses,
        });
      }
    }
  }

  /** The operation a method and path are for, or null when the fake does not serve it. */
  match(method: string, path: string): Operation | null {
    for (const operation of this.operations) {
      if (operation.method !== method) continue;
      const found = operation.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      operation.names.forEach((name, index) => (params[name] = decodeURIComponent(found[index + 1] ?? '')));
      return { id: operation.id, method, template: operation.template, params };
    }
    return null;
  }

  /** Problems with a request: parameters, query, headers, body. Empty when GitHub would accept it. */
  checkRequest(
    operation: Operation,
    request: { query: URLSearchParams; headers: Record<string, string | string[] | undefined>; body: Buffer },
  ): string[] {
    const compiled = this.compiled(operation);
    const problems: string[] = [];
    const where = `${operation.method} ${operation.template}`;
    for (const parameter of compiled.parameters) {
      const raw =
        parameter.in === 'path'
          ? operation.params[parameter.name]
          : parameter.in === 'query'
            ? (request.query.get(parameter.name) ?? undefined)
            : undefined;
      if (raw === undefined) {
        if (parameter.required) problems.push(`${where}: missing ${parameter.in} parameter ${parameter.name}`);
        continue;
      }
      const value = coerce(raw, parameter.schema);
      const validate = this.validator(parameter.schema);
      if (!validate(value))
        problems.push(
          `${where}: ${parameter.in} parameter ${parameter.name}=${raw}: ${this.ajv.errorsText(validate.errors)}`,
        );
    }
    const known = new Set(compiled.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of request.query.keys())
      if (!known.has(name)) problems.push(`${where}: unknown query parameter ${name}`);

    const accept = request.headers.accept;
    if (typeof accept !== 'string' || accept === '') problems.push(`${where}: no Accept header`);
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && !/^(token|bearer) \S+$/i.test(authorization))
      problems.push(`${where}: malformed Authorization header`);

    const body = compiled.requestBody;
    if (!body) {
      if (request.body.length > 0) problems.push(`${where}: takes no body, got ${request.body.length} bytes`);
      return problems;
    }
    if (body.required && request.body.length === 0) problems.push(`${where}: body required`);
    const contentType =
      String(request.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim() ?? '';
    const declared = Object.keys(body.content);
    if (declared.includes('application/json')) {
      if (request.body.length === 0) return problems;
      if (contentType !== 'application/json') problems.push(`${where}: content-type ${contentType}, expected JSON`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(request.body.toString('utf8'));
      } catch {
        problems.push(`${where}: body is not JSON`);
        return problems;
      }
      const schema = body.content['application/json']?.schema ?? {};
      const validate = this.validator(schema);
      if (!validate(parsed)) problems.push(`${where}: body ${this.ajv.errorsText(validate.errors)}`);
      // GitHub ignores unknown fields; a client sending them has a bug (a misspelt field).
      const properties = (schema as { properties?: Record<string, unknown> }).properties;
      if (properties && parsed && typeof parsed === 'object')
        for (const key of Object.keys(parsed))
          if (!(key in properties)) problems.push(`${where}: unknown body field ${key}`);
    } else {
      // Raw uploads: the uploads host needs the size up front and a media type.
      if (!contentType) problems.push(`${where}: no Content-Type for the raw body`);
      const length = request.headers['content-length'];
      if (length === undefined) problems.push(`${where}: no Content-Length (GitHub refuses chunked uploads)`);
      else if (Number(length) !== request.body.length)
        problems.push(`${where}: Content-Length ${String(length)} but ${request.body.length} bytes sent`);
    }
    return problems;
  }

  /** Problems with a response: an undocumented status, or a body outside its schema. */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const compiled = this.compiled(operation);
    const where = `${operation.method} ${operation.template} → ${status}`;
    const declared = compiled.responses[String(status)] ?? compiled.responses.default;
    if (!declared) return [`${where}: status not in the OpenAPI description`];
    const response = declared.$ref ? this.deref<{ content?: Record<string, { schema?: object }> }>(declared) : declared;
    let schema = response.content?.['application/json']?.schema;
    if (!schema) {
      if (body === undefined) return [];
      // Some errors are documented without a body (422 on upload), yet GitHub always sends its
      // error envelope; that envelope, and nothing else, is allowed there.
      if (status < 400) return [`${where}: documented without a body, but one was sent`];
      schema = { $ref: '#/components/schemas/validation-error' };
    }
    const validate = this.validator(schema);
    return validate(body) ? [] : [`${where}: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}`];
  }

  /** A schema from the description, e.g. the release object, for building fixtures. */
  example(name: string): unknown {
    const examples = (this.spec.components as unknown as { examples: Record<string, { value: unknown }> }).examples;
    return structuredClone(examples[name]?.value);
  }

  private compiled(operation: Operation): CompiledOperation {
    const compiled = this.operations.find((o) => o.id === operation.id);
    if (!compiled) throw new Error(`unknown operation ${operation.id}`);
    return compiled;
  }

  private validator(schema: object): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      // Inline schemas refer to `#/components/…` of the description, which Ajv knows as SPEC_ID.
      validate = this.ajv.compile(JSON.parse(key.replaceAll('"#/components/', `"${SPEC_ID}#/components/`)) as object);
      this.validators.set(key, validate);
    }
    return validate;
  }

  private deref<T>(value: T | { $ref: string }): T {
    if (value && typeof value === 'object' && '$ref' in value) {
      const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(value.$ref) ?? [];
      const resolved = (this.spec.components as unknown as Record<string, Record<string, T>>)[section ?? '']?.[
        name ?? ''
      ];
      if (!resolved) throw new Error(`cannot resolve ${value.$ref}`);
      return resolved;
    }
    return value;
  }
}

function coerce(raw: string, schema: object): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}
