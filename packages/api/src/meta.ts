import { z } from 'zod';

export const health = z.object({ status: z.literal('ok') });
export const ready = z.object({ status: z.literal('ready'), database: z.enum(['sqlite', 'postgres']) });
export const version = z.object({ version: z.string() });
/** The OpenAPI document itself (GET /api/v1/openapi.json). */
export const openApiSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });
