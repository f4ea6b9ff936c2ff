/** What an adapter can observe beyond checkouts and releases (docs/reference/adapters.md). */
/**
 * The optional capabilities of an adapter. Checkouts (wait, hold, owner, stack, leaks), releases (double, foreign)
 * and the pool's counters are required of every adapter; these are not.
 */
export interface AdapterCapabilities {
  /**
   * Statements run through a lease are reported (`queryStarted`/`queryFinished`): the running query and its age in
   * snapshots, query counts and durations, releases while a query is in flight.
   */
  readonly queries: boolean;
  /**
   * The server's transaction status is known (at checkout and at release, from the protocol): transaction status and
   * depth of leases, dirty releases (returned inside a transaction).
   */
  readonly transactions: boolean;
  /** The server-side id of a connection's session (PostgreSQL backend pid, MySQL connection id), for the server view join. */
  readonly sessionIds: boolean;
}

/** Every capability: the pg adapter's, and what an adapter without `capabilities` is taken to have. */
export const ALL_CAPABILITIES: AdapterCapabilities = Object.freeze({ queries: true, transactions: true, sessionIds: true });

