import type { EventInput } from '@ringmaster/api';

// The journey event's schema is part of the API contract (@ringmaster/api).
export { EVENT_KINDS, MAX_BATCH, eventBatchSchema, eventInputSchema, type EventInput, type EventKind } from '@ringmaster/api';

/** An event after validation, with the fields the server adds. */
export interface JourneyEvent extends EventInput {
  /** api, github, gitlab, azure, ringmaster (promotions recorded in-process). */
  source: string;
  deliveryId?: string;
}
