import { z } from 'zod';
import { errorBody } from './common.ts';
import { routes, type RouteDef } from './routes.ts';

/** A JSON Schema (draft 2020-12) as zod writes it. */
type JsonSchema = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
};

/** Path and query parameters of a route, one per property of its schema. */
function parameters(route: RouteDef): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const s = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const { description, ...rest } = prop;
      out.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  return out;
}

function responses(route: RouteDef): JsonSchema {
  const out: JsonSchema = {};
  for (const [status, schema] of Object.entries(route.responses) as Array<[string, z.ZodType]>) {
    if (schema instanceof z.ZodUndefined) out[status] = { description: 'no content' };
    else if (route.stream) out[status] = { description: route.summary, content: { [route.stream]: { schema: { type: 'string' } } } };
    else out[status] = { description: status === '503' ? 'unavailable' : 'success', content: { 'application/json': { schema: jsonSchema(schema, 'output') } } };
  }
  out.default = { description: 'an error, in the one error shape', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  return out;
}

function operation(key: string, route: RouteDef): JsonSchema {
  const params = parameters(route);
  const body = route.body && !(route.body instanceof z.ZodUndefined) && !(route.body instanceof z.ZodOptional && route.body.unwrap() instanceof z.ZodUndefined)
    ? { requestBody: { required: !(route.body instanceof z.ZodOptional), content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } }
    : {};
  return {
    operationId: key,
    summary: route.summary,
    tags: [route.tag],
    ...(route.auth === 'token' ? {} : { security: [] }),
    ...(route.role ? { 'x-ringmaster-role': route.role } : {}),
    ...(route.auth === 'signature' ? { 'x-ringmaster-auth': 'signature' } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...body,
    responses: responses(route),
  };
}

/** The OpenAPI 3.1 document of the HTTP API, made from the route table (docs/openapi.json; GET /api/v1/openapi.json). */
export function buildOpenApi(serverVersion: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [key, route] of Object.entries(routes) as Array<[string, RouteDef]>) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(key, route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ringmaster control plane',
      version: serverVersion,
      description: 'Generated from @ringmaster/api (npm run gen:openapi); see docs/api.md. A route\'s x-ringmaster-role is the least role its token needs.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a Ringmaster token (rmt_…)' } },
      schemas: { Error: jsonSchema(errorBody, 'output') },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
