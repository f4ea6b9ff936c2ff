/**
 * The cluster (#cluster-view), shown when `hello` says the ops routes have a `cluster` node. "Ask the cluster" reads
 * GET /api/cluster/snapshot (every node, or the ones named): every node answers over PostgreSQL with its pools and
 * holders, so nothing is asked by itself, and the auto-refresh (every 10 s) is off until ticked. Shows the totals
 * against the server's headroom, the missing nodes and why, then each node's pools and holders.
 */
import { el, fillTable, formatCount, formatMillis, formatTime, replaceWith, setText } from './dom-build.js';
import { AccessRefused, RouteFailed, fetchJson } from './event-stream.js';
import { leaseFields, locationContent } from './lease-tables.js';

const AUTO_MILLIS = 10_000;
const TOTALS = ['nodes', 'used', 'idle', 'max', 'waiting'];
/** @type {Record<string, string>} why a node is missing, in words (ClusterMissingReason) */
const REASONS = {
  timeout: 'did not answer in time (still connected: busy, or its event loop is blocked)',
  left: 'left while asked (its session ended: stopped, killed, or its connection lost)',
  'not-in-cluster': 'not in the cluster (no node of that name is connected)',
};

/**
 * @typedef {object} ClusterPanelElements
 * @property {HTMLElement} section #cluster-view (hidden unless enabled)
 * @property {HTMLButtonElement} ask #cluster-ask
 * @property {HTMLInputElement} nodes #cluster-nodes: empty for every node, else names
 * @property {HTMLInputElement} auto #cluster-auto: ask every 10 s
 * @property {HTMLElement} status #cluster-status
 * @property {HTMLElement} result #cluster-result
 */

export class ClusterPanel {
  #prefix;
  /** @type {ClusterPanelElements} */
  #els;
  #onRefused;
  #enabled = false;
  #busy = false;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;

  /**
   * @param {string} prefix
   * @param {ClusterPanelElements} elements
   * @param {() => void} onRefused a data route answered 401/403
   */
  constructor(prefix, elements, onRefused) {
    this.#prefix = prefix;
    this.#els = elements;
    this.#onRefused = onRefused;
    elements.ask.addEventListener('click', () => void this.ask());
    elements.nodes.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') void this.ask();
    });
    elements.auto.addEventListener('change', () => {
      this.#schedule();
      if (elements.auto.checked) void this.ask();
    });
  }

  /** @param {boolean} enabled shows or hides the panel (on every `hello`); never asks by itself */
  setEnabled(enabled) {
    this.#enabled = enabled;
    this.#els.section.hidden = !enabled;
    this.#schedule();
  }

  #schedule() {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#enabled && this.#els.auto.checked) {
      this.#timer = setInterval(() => {
        if (!document.hidden) void this.ask();
      }, AUTO_MILLIS);
    }
  }

  async ask() {
    if (this.#busy || !this.#enabled) return;
    this.#busy = true;
    const { ask, nodes, status } = this.#els;
    ask.disabled = true;
    setText(status, 'Asking the cluster...');
    const names = nodes.value.split(/[\s,]+/).filter(Boolean).join(',');
    try {
      this.#render(await fetchJson(this.#prefix, `/api/cluster/snapshot${names ? `?nodes=${encodeURIComponent(names)}` : ''}`));
    } catch (error) {
      this.#failed(error);
    } finally {
      this.#busy = false;
      ask.disabled = false;
    }
  }

  /** @param {unknown} error */
  #failed(error) {
    const { status, result, auto } = this.#els;
    if (error instanceof AccessRefused) {
      auto.checked = false;
      this.#schedule();
      setText(status, 'A token is needed.');
      this.#onRefused();
      return;
    }
    const failed = error instanceof RouteFailed ? error : null;
    setText(status, `Could not ask the cluster (${formatTime(Date.now())}).`);
    result.dataset.state = 'error';
    replaceWith(
      result,
      el(
        'p',
        { class: 'cluster-error', role: 'alert', 'data-error': failed?.code ?? '' },
        el('strong', {}, failed ? `${failed.status} ${failed.code ?? ''}` : 'Failed'),
        `: ${failed?.detail ?? (error instanceof Error ? error.message : String(error))}`,
      ),
    );
  }

  /** @param {any} answer ClusterSnapshot */
  #render(answer) {
    const nodes = Array.isArray(answer.nodes) ? answer.nodes : [];
    const missing = Array.isArray(answer.missing) ? answer.missing : [];
    const complete = answer.complete === true;
    const gone = missing.map((/** @type {any} */ m) => m.node).join(', ');
    setText(
      this.#els.status,
      `${complete ? 'Complete' : `Partial, missing ${gone}`}: ${nodes.length} node(s) answered at ${formatTime(Date.now())}.`,
    );
    this.#els.result.dataset.state = complete ? 'complete' : 'partial';
    replaceWith(
      this.#els.result,
      complete ? null : el('p', { class: 'cluster-partial' }, el('span', { class: 'badge badge-warning' }, 'partial'), ` ${missing.length} node(s) missing: ${gone}`),
      totalsView(answer.totals),
      missing.length > 0
        ? el(
            'ul',
            { class: 'plain cluster-missing' },
            ...missing.map((/** @type {any} */ m) =>
              el('li', { 'data-node': m.node, 'data-reason': m.reason }, el('strong', {}, m.node), ` ${REASONS[m.reason] ?? m.reason}`),
            ),
          )
        : null,
      departedView(answer.departed),
      ...nodes.map(nodeView),
    );
  }
}

/** @param {any} departed ClusterDeparture[]: nodes seen earlier and gone now (stopped, crashed, scaled down) */
function departedView(departed) {
  if (!Array.isArray(departed) || departed.length === 0) return null;
  return el(
    'ul',
    { class: 'plain cluster-departed' },
    ...departed.map((/** @type {any} */ d) =>
      el('li', { 'data-node': d.node }, el('strong', {}, d.node), ` left (gone since ${formatTime(d.leftAt)}; seen in the cluster earlier)`),
    ),
  );
}

/** @param {any} totals ClusterTotals, or absent */
function totalsView(totals) {
  if (totals === null || typeof totals !== 'object') return null;
  /** @param {string} name @param {any} c ConnectionCounts @param {unknown} count nodes */
  const row = (name, c, count) =>
    el(
      'tr',
      { 'data-pool': name },
      el('th', { scope: 'row' }, name),
      ...[count, c?.used, c?.idle, c?.max, c?.pending].map((n, i) => el('td', { class: 'num', 'data-field': TOTALS[i] }, formatCount(n))),
    );
  const table = /** @type {HTMLTableElement} */ (el('table', { id: 'cluster-totals', class: 'data compact' }));
  const pools = Array.isArray(totals.pools) ? totals.pools : [];
  fillTable(
    table,
    ['Pool', 'Nodes', 'Used', 'Idle', 'Max', 'Waiting'],
    [...pools.map((/** @type {any} */ p) => row(p.poolName, p.all, p.nodes?.length)), row('all pools', totals.all, totals.nodes?.length)],
    '',
  );
  const server = totals.server;
  return el(
    'div',
    {},
    el('h3', {}, 'Totals across the nodes that answered'),
    el('div', { class: 'scroll' }, table),
    server
      ? el(
          'p',
          { class: 'cluster-server', 'data-fits': String(server.fits === true) },
          el('span', { class: `badge ${server.fits ? '' : 'badge-critical'}` }, server.fits ? 'fits' : 'does not fit'),
          ` ${server.summary}`,
        )
      : el('p', { class: 'cluster-server muted', 'data-fits': 'unknown' }, "Server capacity unknown: the server's limits could not be read."),
  );
}

/** @param {any} entry ClusterNodeSnapshot */
function nodeView(entry) {
  const pools = Array.isArray(entry.snapshot?.pools) ? entry.snapshot.pools : [];
  const poolTable = /** @type {HTMLTableElement} */ (el('table', { class: 'data compact' }));
  fillTable(
    poolTable,
    ['Pool', 'Used / idle / max', 'Waiting', 'Level'],
    pools.map((/** @type {any} */ p) => {
      const s = p.stats ?? {};
      return el(
        'tr',
        { 'data-pool': p.poolName },
        el('td', {}, p.poolName),
        el('td', { class: 'num', 'data-field': 'counts' }, `${formatCount(s.used)} / ${formatCount(s.idle)} / ${formatCount(s.max)}`),
        el('td', { class: 'num' }, formatCount(s.pending)),
        el('td', { class: `level level-${s.level}` }, s.level ?? '-'),
      );
    }),
    'No pools.',
  );
  const holderTable = /** @type {HTMLTableElement} */ (el('table', { class: 'data compact' }));
  const holders = pools
    .flatMap((/** @type {any} */ p) => (Array.isArray(p.holders) ? p.holders : []).map((/** @type {any} */ h) => leaseFields({ ...h, poolName: p.poolName })))
    .sort((x, y) => y.heldMillis - x.heldMillis);
  fillTable(
    holderTable,
    ['Pool', 'Lease', 'Owner', 'Held for', 'Location'],
    holders.map((f) =>
      el(
        'tr',
        { 'data-pool': f.poolName, 'data-lease-id': f.id, class: f.leakSuspected ? 'leak' : null },
        el('td', {}, f.poolName),
        el('td', { class: 'num' }, `#${f.id}`),
        el('td', { 'data-field': 'owner' }, f.owner || '-'),
        el('td', { class: 'num', 'data-field': 'held' }, formatMillis(f.heldMillis)),
        el('td', { 'data-field': 'location' }, ...locationContent(f)),
      ),
    ),
    'No connection is checked out.',
  );
  return el(
    'article',
    { class: 'cluster-node', 'data-node': entry.node },
    el('h3', {}, `Node ${entry.node}`, el('span', { class: 'muted' }, ` snapshot ${formatTime(entry.snapshot?.takenAt)}`)),
    el('div', { class: 'scroll' }, poolTable),
    el('p', { class: 'muted' }, `Holders (${holders.length}), longest first`),
    el('div', { class: 'scroll' }, holderTable),
  );
}
