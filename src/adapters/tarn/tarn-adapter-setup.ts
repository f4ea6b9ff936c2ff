import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { StackHolder } from '../../core/stack-capture.js';

/** What the adapter is told about the pool beyond tarn's own API (trackTarnPool and trackKnex fill it in). */
export interface TarnAdapterSetup {
  /** The resources are pg.Clients: queries, transactions and backend pids are followed. */
  readonly pgResources: boolean;
  /** A readiness check of one resource; with pg.Client resources, `SELECT 1` when none is given. */
  readonly pingResource: ((resource: unknown) => unknown) | undefined;
  /**
   * Where the user's line of the checkout being made comes from (Knex, which acquires from a microtask): a stack
   * taken where the user's code made the query; null for a checkout whose site was not taken (sampled out);
   * undefined when there is none to offer (the checkout's own stack is used).
   */
  readonly sites?: { readonly pending: StackHolder | null | undefined };
  /** Marks a resource for destruction at its next checkout (Knex's validation drops it); none for tarn alone. */
  readonly dispose?: (resource: unknown, reason: string) => void;
  /** More settings for `config()` (Knex's connection settings, allowlisted). */
  readonly extraConfig?: () => PoolConfigSnapshot;
  /** Undoes what was installed besides the pool's listeners (Knex's client hooks), at detach. */
  readonly onDetach?: () => void;
}
