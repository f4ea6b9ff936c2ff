/**
 * Snapshots: the list (#snapshots) of the automatic saturation snapshots (the `state`'s summaries and later
 * `snapshot-taken` events) and of those taken here, the "Take snapshot now" button (#take-snapshot, GET
 * /api/snapshot), and the detail of the one chosen (#snapshot-detail: its holders and waiters).
 */
import { el, formatMillis, formatTime } from './dom-build.js';
import { AccessRefused, fetchJson } from './event-stream.js';
import { leaseFields, locationContent } from './lease-tables.js';

const MAX_SNAPSHOTS = 50;

/**
 * @typedef {object} SnapshotSummary
 * @property {number} id
 * @property {string} poolName
 * @property {string} takenAt
 * @property {string} reason
 * @property {number | null} holders
 * @property {number | null} waiters
 */

export class SnapshotPanel {
  #prefix;
  #list;
  #detail;
  #status;
  #onRefused;
  /** @type {Map<number, SnapshotSummary>} */
  #summaries = new Map();
  /** @type {Map<number, any>} full snapshots taken from this page, by id */
  #taken = new Map();

  /**
   * @param {string} prefix
   * @param {{ list: HTMLElement, detail: HTMLElement, button: HTMLButtonElement, status: HTMLElement }} elements
   * @param {() => void} onRefused a data route answered 401/403
   */
  constructor(prefix, { list, detail, button, status }, onRefused) {
    this.#prefix = prefix;
    this.#list = list;
    this.#detail = detail;
    this.#status = status;
    this.#onRefused = onRefused;
    button.addEventListener('click', () => void this.#takeNow(button));
    this.#render();
  }

  /** @param {readonly SnapshotSummary[]} summaries the `state`'s list: replaces the automatic ones */
  reset(summaries) {
    for (const [id, summary] of this.#summaries) if (summary.reason !== 'manual') this.#summaries.delete(id);
    for (const summary of summaries ?? []) if (typeof summary?.id === 'number') this.#summaries.set(summary.id, summary);
    this.#render();
  }

  /** @param {any} item a FeedItem; a `snapshot-taken` (or `saturated` with a snapshot id) adds to the list */
  noteEvent(item) {
    if (typeof item?.snapshotId !== 'number' || this.#summaries.has(item.snapshotId)) return;
    this.#summaries.set(item.snapshotId, { id: item.snapshotId, poolName: item.poolName ?? '', takenAt: item.at, reason: 'saturation', holders: null, waiters: null });
    this.#render();
  }

  /**
   * Shows one snapshot (fetched from /api/snapshots?pool= unless taken here).
   * @param {string | null} poolName @param {number} id
   */
  async show(poolName, id) {
    const pool = poolName ?? this.#summaries.get(id)?.poolName ?? '';
    const kept = this.#taken.get(id);
    if (kept !== undefined) {
      this.#showSnapshots([kept], `Snapshot #${id}`);
      return;
    }
    this.#setStatus(`Loading snapshot #${id}...`);
    try {
      const report = await fetchJson(this.#prefix, `/api/snapshots?pool=${encodeURIComponent(pool)}`);
      const found = (report.snapshots ?? []).find((/** @type {any} */ s) => s.id === id);
      if (found === undefined) this.#setStatus(`Snapshot #${id} is no longer kept by the server.`);
      else this.#showSnapshots([found], `Snapshot #${id}`);
    } catch (error) {
      this.#failed(error);
    }
  }

  /** @param {HTMLButtonElement} button */
  async #takeNow(button) {
    button.disabled = true;
    this.#setStatus('Taking a snapshot...');
    try {
      const snapshot = await fetchJson(this.#prefix, '/api/snapshot');
      const pools = Array.isArray(snapshot.pools) ? snapshot.pools : [];
      for (const pool of pools) {
        if (typeof pool.id !== 'number') continue;
        this.#taken.set(pool.id, pool);
        this.#summaries.set(pool.id, {
          id: pool.id,
          poolName: pool.poolName,
          takenAt: pool.takenAt ?? snapshot.takenAt,
          reason: pool.reason ?? 'manual',
          holders: pool.holders?.length ?? 0,
          waiters: pool.waiters?.length ?? 0,
        });
      }
      this.#render();
      this.#showSnapshots(pools, `Taken now (${formatTime(snapshot.takenAt)})`);
    } catch (error) {
      this.#failed(error);
    } finally {
      button.disabled = false;
    }
  }

  /** @param {unknown} error */
  #failed(error) {
    if (error instanceof AccessRefused) {
      this.#setStatus('A token is needed.');
      this.#onRefused();
    } else {
      this.#setStatus(`Could not load it: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** @param {string} text */
  #setStatus(text) {
    this.#status.textContent = text;
  }

  #render() {
    const items = [...this.#summaries.values()].sort((a, b) => b.id - a.id);
    for (const summary of items.slice(MAX_SNAPSHOTS)) {
      this.#summaries.delete(summary.id);
      this.#taken.delete(summary.id);
    }
    if (items.length === 0) {
      this.#list.replaceChildren(el('li', { class: 'empty' }, 'No snapshot yet. Saturation takes one automatically.'));
      return;
    }
    this.#list.replaceChildren(
      ...items.slice(0, MAX_SNAPSHOTS).map((s) => {
        const counts = s.holders === null ? '' : `, holders ${s.holders}, waiters ${s.waiters ?? 0}`;
        const button = el('button', { type: 'button', class: 'link' }, `#${s.id} ${s.poolName} at ${formatTime(s.takenAt)} (${s.reason}${counts})`);
        button.addEventListener('click', () => void this.show(s.poolName, s.id));
        return el('li', { 'data-snapshot-id': s.id, 'data-reason': s.reason }, button);
      }),
    );
  }

  /**
   * @param {readonly any[]} snapshots PoolSnapshots
   * @param {string} title
   */
  #showSnapshots(snapshots, title) {
    this.#setStatus('');
    const parts = [el('h3', {}, title)];
    for (const snap of snapshots) {
      const stats = snap.stats ?? {};
      parts.push(
        el('h4', {}, `${snap.poolName}: #${snap.id}, ${snap.reason}, ${formatTime(snap.takenAt)}`),
        el('p', { class: 'muted' }, `used ${stats.used ?? '-'} of ${stats.max ?? '-'}, ${stats.pending ?? 0} waiting, level ${stats.level ?? '-'}`),
        leaseList('Holders', snap.holders, 'heldMillis'),
        leaseList('Waiters', snap.waiters, 'waitMillis'),
      );
    }
    if (snapshots.length === 0) parts.push(el('p', { class: 'muted' }, 'No pool is tracked.'));
    this.#detail.replaceChildren(...parts);
    this.#detail.hidden = false;
    this.#detail.focus();
  }
}

/**
 * A small static table of a snapshot's leases.
 * @param {string} title @param {readonly any[] | undefined} leases @param {'heldMillis' | 'waitMillis'} duration
 */
function leaseList(title, leases, duration) {
  const list = Array.isArray(leases) ? leases : [];
  if (list.length === 0) return el('p', { class: 'muted' }, `${title}: none`);
  const head = el('tr', {}, ...['Lease', 'Owner', duration === 'heldMillis' ? 'Held for' : 'Waiting for', 'Query', 'Location'].map((t) => el('th', { scope: 'col' }, t)));
  const rows = list.map((lease) => {
    const f = leaseFields(lease);
    return el(
      'tr',
      { 'data-lease-id': f.id, class: f.leakSuspected ? 'leak' : null },
      el('td', { class: 'num' }, `#${f.id}`),
      el('td', {}, f.owner || '-'),
      el('td', { class: 'num' }, formatMillis(duration === 'heldMillis' ? f.heldMillis : f.waitMillis)),
      el('td', { class: 'query', title: f.query }, f.query || '-'),
      el('td', { 'data-field': 'location' }, ...locationContent(f)),
    );
  });
  return el('div', { class: 'scroll' }, el('table', { class: 'data compact' }, el('caption', {}, `${title} (${list.length})`), el('thead', {}, head), el('tbody', {}, ...rows)));
}
