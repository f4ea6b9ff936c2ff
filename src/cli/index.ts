// poolscope/cli: the types of the JSON the CLI prints with --format json (docs/reference/cli.md), for programs that
// read it. Types only: this entry exports no value, and loads nothing of the CLI.

export type { InspectReport, InspectPoolReport, InspectWorkerPoolReport, UtilizationMarker } from './inspect-report.js';
export type { StressReport, StressWaveReport, StressSummary, StressPoolPeak, StressHealthReading, StressPoolHealth } from './stress-report.js';
