/**
 * The demo app's catalogue: its endpoints (healthy, slow, and one per seed 001 leak pattern), its pools, the
 * application_name of their sessions and the channels the outbox handlers LISTEN on. `poolscope demo` prints and
 * drives these; the handlers are in demo-order-queries.ts (healthy, slow) and demo-leak-sites.ts (leaky).
 */

/** How an endpoint of the demo behaves. */
export const DEMO_ENDPOINT_KINDS = ['healthy', 'slow', 'leaky'] as const;
export type DemoEndpointKind = (typeof DEMO_ENDPOINT_KINDS)[number];

export interface DemoEndpoint {
  /** GET path (the request owner label is `GET <path>`). */
  readonly path: string;
  readonly kind: DemoEndpointKind;
  /** What it does, and for a leaky one which seed 001 pattern it plants. */
  readonly description: string;
  /** The marker comment at its planted line in demo-leak-sites.ts (`// <marker>`), for leaky endpoints. */
  readonly marker: string | null;
}

/** The app's endpoints, in the order the demo prints them. */
export const DEMO_ENDPOINTS: readonly DemoEndpoint[] = Object.freeze([
  { path: '/api/orders', kind: 'healthy', description: 'latest orders: one short query through withClient()', marker: null },
  { path: '/api/report', kind: 'slow', description: 'sales report: holds a connection 300-800 ms (pg_sleep)', marker: null },
  {
    path: '/api/orders/export',
    kind: 'leaky',
    description: 'leak 1, missing finally: release() only on the success path; an error leaves the connection leaked inside an open transaction',
    marker: '@leak-error-path',
  },
  {
    path: '/api/customers/lookup',
    kind: 'leaky',
    description: 'leak 2, early return: "not found" returns before release()',
    marker: '@leak-early-return',
  },
  {
    path: '/api/orders/checkout',
    kind: 'leaky',
    description: 'leak 3, async work not awaited: released in finally while the audit INSERT still runs',
    marker: '@release-not-awaited',
  },
] as const satisfies readonly DemoEndpoint[]);

/** Names of the demo's pools. */
export const DEMO_POOLS = { main: 'main', listen: 'listen' } as const;
/** application_name of each pool's connections (what `poolscope db` groups by). */
export const DEMO_APPLICATION_NAMES = { main: 'poolscope-demo-main', listen: 'poolscope-demo-listen' } as const;
/** Channels the listen pool's handlers LISTEN on (three connections held by design). */
export const DEMO_LISTEN_CHANNELS = ['order_created', 'order_paid', 'order_shipped'] as const;
