import type { TerminalColor } from './terminal-style.js';

/** Seed 002's utilization markers, from low to high: the words `poolscope inspect` shows for every kind of pool. */
export const UTILIZATION_MARKERS = ['LOW', 'GOOD', 'HIGH', 'CRITICAL'] as const;
export type UtilizationMarker = (typeof UTILIZATION_MARKERS)[number];

/** The colour of each marker on a terminal, for connection pools and worker pools alike. */
export const MARKER_COLORS: Readonly<Record<UtilizationMarker, TerminalColor>> = Object.freeze({
  LOW: 'dim',
  GOOD: 'green',
  HIGH: 'yellow',
  CRITICAL: 'red',
});
