import { NODE_NAME_PATTERN } from './cluster-messages.js';

/**
 * What a node remembers of the cluster's membership (docs/reference/cluster.md, "Departures"): the nodes it has
 * seen (in `pg_stat_activity`, each time it asked or answered), and those seen earlier and gone since, with when it
 * noticed. Presence itself has no history (a node that stops cleanly leaves no trace), so this memory is what lets
 * a snapshot name a node that was stopped. Bounded: at most `MAX_REMEMBERED` names, departures forgotten after
 * `forgetAfterMillis`.
 */

/** A node seen in the cluster earlier and not a member now. */
export interface ClusterDeparture {
  readonly node: string;
  /** When its absence was first noticed (epoch milliseconds; it left at most one observation before). */
  readonly leftAt: number;
}

/**
 * Node names starting with this are transient requesters (the CLI joins as `cli-<pid>`, asks, and leaves): never
 * remembered, so their leaving is not a departure.
 */
export const TRANSIENT_NODE_PREFIX = 'cli-';

/** Most names remembered (seen and departed together); the oldest go first. */
export const MAX_REMEMBERED = 1000;
/** Default: departures are forgotten after an hour. */
export const DEFAULT_FORGET_DEPARTURES_AFTER_MILLIS = 60 * 60 * 1000;

export class ClusterMembership {
  /** Members at the last observation, with when each was last seen. */
  readonly #seen = new Map<string, number>();
  readonly #departed = new Map<string, number>();
  readonly #forgetAfterMillis: number;
  readonly #now: () => number;

  constructor(forgetAfterMillis = DEFAULT_FORGET_DEPARTURES_AFTER_MILLIS, now: () => number = Date.now) {
    this.#forgetAfterMillis = forgetAfterMillis;
    this.#now = now;
  }

  /** The members now: those seen before and missing now have departed; a departed one that is back is a member again. */
  observe(members: readonly string[]): void {
    const now = this.#now();
    members = members.filter((node) => !node.startsWith(TRANSIENT_NODE_PREFIX));
    const present = new Set(members);
    for (const node of this.#seen.keys()) {
      if (!present.has(node)) {
        this.#seen.delete(node);
        this.#departed.set(node, now);
      }
    }
    for (const node of members) {
      this.#departed.delete(node);
      this.#seen.delete(node); // re-inserted last: the map's order is the age order the bound uses
      this.#seen.set(node, now);
    }
    this.#bound(now);
  }

  /** Takes departures another node reported (ignoring members now and malformed entries); keeps the earliest time. */
  absorb(departures: readonly ClusterDeparture[], membersNow: readonly string[]): void {
    const now = this.#now();
    for (const { node, leftAt } of departures) {
      if (membersNow.includes(node) || !NODE_NAME_PATTERN.test(node) || node.startsWith(TRANSIENT_NODE_PREFIX)) continue;
      if (!(leftAt > now - this.#forgetAfterMillis)) continue;
      const known = this.#departed.get(node);
      if (known === undefined || leftAt < known) this.#departed.set(node, Math.min(leftAt, now));
    }
    this.#bound(now);
  }

  /** The departures still remembered, most recent first. */
  departures(): ClusterDeparture[] {
    this.#bound(this.#now());
    return [...this.#departed].map(([node, leftAt]) => ({ node, leftAt })).sort((a, b) => b.leftAt - a.leftAt || (a.node < b.node ? -1 : 1));
  }

  #bound(now: number): void {
    for (const [node, leftAt] of this.#departed) if (leftAt <= now - this.#forgetAfterMillis) this.#departed.delete(node);
    while (this.#seen.size + this.#departed.size > MAX_REMEMBERED) {
      const oldest = this.#departed.size > 0 ? this.#departed.keys().next().value : this.#seen.keys().next().value;
      if (oldest === undefined) break;
      if (!this.#departed.delete(oldest)) this.#seen.delete(oldest);
    }
  }
}
