/** States a release, ring, wave or cluster step can be in. */
export const FLIGHT_STATES = [
  'pending', 'waiting_for_approval', 'in_progress', 'soaking', 'paused',
  'succeeded', 'failed', 'halted', 'aborted', 'rolled_back',
] as const;
export type FlightState = (typeof FLIGHT_STATES)[number];

/** The states a release (or ring, wave, step) does not leave: the one list server, dashboard and CLI use. */
export const TERMINAL_STATES = ['succeeded', 'failed', 'halted', 'aborted', 'rolled_back'] as const satisfies readonly FlightState[];
export type TerminalState = (typeof TERMINAL_STATES)[number];

const terminal: ReadonlySet<string> = new Set(TERMINAL_STATES);
export const isTerminal = (state: string): state is TerminalState => terminal.has(state);
