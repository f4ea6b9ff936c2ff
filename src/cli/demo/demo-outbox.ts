import type pg from 'pg';
import type { Inspector } from '../../core/inspector.js';

/**
 * The demo's outbox handlers (seed 001): jobs each holding one connection of the `listen` pool, with LISTEN, until
 * stopped. Three of them keep that pool full by design (it is tracked `expectFull`).
 */
export interface OutboxHandler {
  /** Ends the job: UNLISTEN, release. Never rejects. */
  stop(): Promise<void>;
}

/** Starts a handler on `channel`; resolves once it listens (or once the job failed). */
export async function startOutboxHandler(inspector: Inspector, pool: pg.Pool, channel: string): Promise<OutboxHandler> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const done = inspector.runAs({ label: `outbox ${channel}`, kind: 'job' }, async () => {
    const client = await pool.connect(); // @listen-hold
    try {
      await client.query(`LISTEN ${channel}`);
      client.on('notification', () => undefined);
      listening();
      await stopped;
      await client.query('UNLISTEN *');
    } finally {
      client.release();
    }
  });
  await Promise.race([ready, done]);
  return {
    stop() {
      stop();
      return done.catch(() => undefined);
    },
  };
}
