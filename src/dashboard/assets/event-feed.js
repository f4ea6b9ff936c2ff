/**
 * The event feed (#events): newest first, at most 200 rows, each with its time, type, pool and message and a link
 * to the lease or snapshot it is about.
 */
import { el, formatTime } from './dom-build.js';

const MAX_ROWS = 200;

/** Event types that mean something went wrong now; `saturated` is a warning, the rest information. */
const CRITICAL = new Set([
  'leak-suspected',
  'owner-ended-holding',
  'dirty-release',
  'double-release',
  'foreign-release',
  'release-in-flight',
  'inherited-transaction',
  'acquire-timeout',
  'alert-firing',
  'connection-error',
]);

/**
 * @typedef {object} FeedLinks
 * @property {(poolName: string | null, leaseId: number) => void} onLease
 * @property {(poolName: string | null, snapshotId: number) => void} onSnapshot
 */

export class EventFeed {
  #body;
  #links;
  #lastId = -Infinity;

  /**
   * @param {HTMLTableElement} table #events
   * @param {FeedLinks} links
   */
  constructor(table, links) {
    this.#links = links;
    const head = el('tr', {}, ...['Time', 'Type', 'Pool', 'Message', 'About'].map((t) => el('th', { scope: 'col' }, t)));
    this.#body = /** @type {HTMLTableSectionElement} */ (el('tbody'));
    table.replaceChildren(el('thead', {}, head), this.#body);
  }

  /** @param {readonly any[]} items the `state`'s FeedItems: replace the feed */
  reset(items) {
    this.#body.replaceChildren();
    this.#lastId = -Infinity;
    const sorted = [...(items ?? [])].filter((item) => typeof item?.id === 'number').sort((a, b) => a.id - b.id);
    for (const item of sorted.slice(-MAX_ROWS)) this.add(item);
  }

  /** @param {any} item one `event` frame: a FeedItem, or `{ dropped: n }` */
  add(item) {
    if (item === null || typeof item !== 'object') return;
    if (typeof item.dropped === 'number') {
      this.#prepend(
        el('tr', { 'data-event-type': 'dropped', class: 'sev-warning' }, el('td', {}, formatTime(Date.now())), el('td', {}, 'dropped'), el('td'), el('td', {}, `${item.dropped} events were not sent (too many at once)`), el('td')),
      );
      return;
    }
    if (typeof item.id === 'number') {
      if (item.id <= this.#lastId) return; // seen (a reconnect's state repeats the recent ones)
      this.#lastId = item.id;
    }
    const type = String(item.type ?? 'unknown');
    const severity = CRITICAL.has(type) ? 'critical' : type === 'saturated' ? 'warning' : 'info';
    const about = el('td');
    if (typeof item.location === 'string' && item.location !== '') about.append(el('code', { class: 'site', 'data-field': 'location' }, item.location), ' ');
    if (typeof item.leaseId === 'number') {
      const button = el('button', { type: 'button', class: 'link' }, `lease #${item.leaseId}`);
      button.addEventListener('click', () => this.#links.onLease(item.poolName ?? null, item.leaseId));
      about.append(button);
    }
    if (typeof item.snapshotId === 'number') {
      const button = el('button', { type: 'button', class: 'link' }, `snapshot #${item.snapshotId}`);
      button.addEventListener('click', () => this.#links.onSnapshot(item.poolName ?? null, item.snapshotId));
      about.append(button);
    }
    this.#prepend(
      el(
        'tr',
        { 'data-event-type': type, 'data-event-id': item.id, class: `sev-${severity}` },
        el('td', { class: 'num' }, el('time', { datetime: item.at }, formatTime(item.at))),
        el('td', {}, el('span', { class: `badge badge-${severity}` }, type)),
        el('td', {}, item.poolName ?? '-'),
        el('td', { class: 'message' }, el('span', {}, item.message ?? '')),
        about,
      ),
    );
  }

  /** @param {HTMLElement} row */
  #prepend(row) {
    this.#body.prepend(row);
    while (this.#body.rows.length > MAX_ROWS) this.#body.lastElementChild?.remove();
  }
}
