import { readFileSync } from 'node:fs';
import type { WorkerMemorySource, WorkerMemoryTrend } from './worker-pool-stats.js';

/**
 * Memory readings of one worker: the latest and the last few (for growth across samples). Process workers are read
 * here by pid (/proc on Linux); thread workers answer through poolscope/worker (worker-heap-channel.ts).
 */

/** Samples kept per worker. */
export const MEMORY_SAMPLES_KEPT = 32;

const BYTES_PER_MB = 1024 * 1024;

/** Megabytes with two decimals. */
export function megabytes(bytes: number): number {
  return Math.round((bytes / BYTES_PER_MB) * 100) / 100;
}

export class WorkerMemory {
  readonly source: WorkerMemorySource;
  /** Ring of [monotonic time, MB] pairs, oldest first from #start. */
  readonly #at = new Float64Array(MEMORY_SAMPLES_KEPT);
  readonly #mb = new Float64Array(MEMORY_SAMPLES_KEPT);
  #start = 0;
  #count = 0;
  /** Why the last read failed (a process whose /proc entry could not be read), cleared by a sample. */
  failure: string | null = null;

  constructor(source: WorkerMemorySource) {
    this.source = source;
  }

  get sampled(): boolean {
    return this.#count > 0;
  }

  /** The latest reading in MB (check `sampled` first). */
  get lastMb(): number {
    return this.#mb[(this.#start + this.#count - 1) % MEMORY_SAMPLES_KEPT] ?? 0;
  }

  /** When the latest reading was taken (monotonic ms). */
  get lastAt(): number {
    return this.#at[(this.#start + this.#count - 1) % MEMORY_SAMPLES_KEPT] ?? 0;
  }

  record(at: number, mb: number): void {
    this.failure = null;
    let index: number;
    if (this.#count < MEMORY_SAMPLES_KEPT) {
      index = (this.#start + this.#count) % MEMORY_SAMPLES_KEPT;
      this.#count += 1;
    } else {
      index = this.#start;
      this.#start = (this.#start + 1) % MEMORY_SAMPLES_KEPT;
    }
    this.#at[index] = at;
    this.#mb[index] = mb;
  }

  /** Growth across the samples kept; null with fewer than two. */
  trend(): WorkerMemoryTrend | null {
    if (this.#count < 2) return null;
    const first = this.#start;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < this.#count; k++) {
      const mb = this.#mb[(first + k) % MEMORY_SAMPLES_KEPT] ?? 0;
      if (mb < min) min = mb;
      if (mb > max) max = mb;
    }
    const firstMb = this.#mb[first] ?? 0;
    const lastMb = this.lastMb;
    return {
      samples: this.#count,
      firstMb,
      lastMb,
      minMb: min,
      maxMb: max,
      growthMb: Math.round((lastMb - firstMb) * 100) / 100,
      spanMillis: Math.round(this.lastAt - (this.#at[first] ?? 0)),
    };
  }
}

/** Reading a process's resident memory: MB, or why not. */
export type ProcessMemoryReading = { readonly mb: number } | { readonly note: string };

const VM_RSS = /^VmRSS:\s+(\d+)\s+kB/m;

/**
 * The resident set size of process `pid` in MB, from /proc/<pid>/status (Linux). Elsewhere: not available (no
 * portable way without a native module or spawning `ps`, which a sample every few seconds does not justify).
 */
export function readProcessMemory(pid: number, platform: string = process.platform): ProcessMemoryReading {
  if (platform !== 'linux') return { note: `not available on ${platform} (read from /proc on Linux only)` };
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return { note: `could not read /proc/${pid}/status (${typeof code === 'string' ? code : 'error'})` };
  }
  const match = VM_RSS.exec(text);
  if (match === null) return { note: `no VmRSS in /proc/${pid}/status (a zombie process)` };
  return { mb: megabytes(Number(match[1]) * 1024) };
}
