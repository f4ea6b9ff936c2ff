/**
 * The holders and waiters tables (#holders, #waiters): every pool's leases together, sortable by header buttons,
 * filtered by one text box (pool, owner, site). Rows are kept per lease and updated in place, so an opened stack
 * stays open across ticks.
 */
import { el, formatCount, formatMillis, setText } from './dom-build.js';

/**
 * The fields of a LeaseSnapshot the page shows (core/lease.ts names first; the contract's short names read too).
 * @param {any} lease
 */
export function leaseFields(lease) {
  const owner = lease.owner ?? null;
  return {
    id: lease.id,
    poolName: lease.poolName ?? '',
    owner: owner === null ? '' : `${owner.kind ?? ''} ${owner.label ?? ''}`.trim() + (owner.ended ? ' (ended)' : ''),
    heldMillis: lease.heldMillis ?? lease.heldForMillis ?? 0,
    waitMillis: lease.waitMillis ?? 0,
    state: lease.state ?? '',
    query: lease.query?.text ?? lease.queryText ?? '',
    queryRunningMillis: lease.query?.runningMillis ?? null,
    txStatus: lease.transaction?.status ?? lease.transactionStatus ?? 'unknown',
    txDepth: lease.transaction?.depth ?? lease.transactionDepth ?? 0,
    backendPid: lease.backendPid ?? null,
    location: lease.location ?? null,
    locationStatus: lease.locationStatus ?? 'not-captured',
    stack: Array.isArray(lease.stack) ? lease.stack : [],
    leakSuspected: lease.leakSuspected === true,
  };
}

/**
 * The location cell's content: file:line:col (or why there is none) and the stack in a <details>.
 * @param {ReturnType<typeof leaseFields>} f
 * @returns {Node[]}
 */
export function locationContent(f) {
  const site =
    f.location !== null
      ? el('code', { class: 'site' }, f.location)
      : el('span', { class: 'muted' }, f.locationStatus === 'no-user-frame' ? 'no frame of your code' : 'not captured');
  if (f.stack.length === 0) return [site];
  return [site, el('details', {}, el('summary', {}, `stack (${f.stack.length})`), el('pre', { class: 'stack' }, f.stack.join('\n')))];
}

/**
 * @typedef {ReturnType<typeof leaseFields>} LeaseFields
 * @typedef {object} Column
 * @property {string} key
 * @property {string} title
 * @property {(f: LeaseFields) => string | number} sortValue
 * @property {(f: LeaseFields) => string} text
 * @property {string} [className]
 */

/** @type {Record<string, Column>} */
const COLUMNS = {
  id: { key: 'id', title: 'Lease', sortValue: (f) => f.id, text: (f) => `#${f.id}`, className: 'num' },
  pool: { key: 'pool', title: 'Pool', sortValue: (f) => f.poolName, text: (f) => f.poolName },
  owner: { key: 'owner', title: 'Owner', sortValue: (f) => f.owner, text: (f) => f.owner || '-' },
  held: { key: 'held', title: 'Held for', sortValue: (f) => f.heldMillis, text: (f) => formatMillis(f.heldMillis), className: 'num' },
  waiting: { key: 'waiting', title: 'Waiting for', sortValue: (f) => f.waitMillis, text: (f) => formatMillis(f.waitMillis), className: 'num' },
  state: { key: 'state', title: 'State', sortValue: (f) => f.state, text: (f) => f.state },
  query: {
    key: 'query',
    title: 'Query',
    sortValue: (f) => f.query,
    text: (f) => (f.query === '' ? '-' : f.queryRunningMillis === null ? f.query : `${f.query} (running ${formatMillis(f.queryRunningMillis)})`),
    className: 'query',
  },
  tx: { key: 'tx', title: 'Transaction', sortValue: (f) => `${f.txStatus}${f.txDepth}`, text: (f) => (f.txDepth > 1 ? `${f.txStatus}, depth ${f.txDepth}` : f.txStatus) },
  pid: { key: 'pid', title: 'Backend PID', sortValue: (f) => f.backendPid ?? -1, text: (f) => formatCount(f.backendPid), className: 'num' },
  location: { key: 'location', title: 'Location', sortValue: (f) => f.location ?? '', text: () => '' },
};

/** Which columns each table has, and its default order. */
const KINDS = {
  holders: { columns: ['id', 'pool', 'owner', 'held', 'state', 'query', 'tx', 'pid', 'location'], sort: 'held', empty: 'No connection is checked out.' },
  waiters: { columns: ['id', 'pool', 'owner', 'waiting', 'query', 'location'], sort: 'waiting', empty: 'Nobody is waiting for a connection.' },
};

export class LeaseTable {
  #table;
  #body;
  /** @type {Column[]} */
  #columns;
  #empty;
  #sortKey;
  #descending = true;
  #filter = '';
  /** @type {Map<string, any[]>} leases by pool */
  #byPool = new Map();
  /** @type {Map<string, { row: HTMLTableRowElement, stackLength: number }>} */
  #rows = new Map();

  /**
   * @param {HTMLTableElement} table
   * @param {'holders' | 'waiters'} kind
   */
  constructor(table, kind) {
    const spec = KINDS[kind];
    this.#table = table;
    this.#columns = spec.columns.map((key) => COLUMNS[key]);
    this.#sortKey = spec.sort;
    this.#empty = el('tr', { class: 'empty' }, el('td', { colspan: this.#columns.length }, spec.empty));
    const head = el('tr');
    for (const column of this.#columns) {
      const button = el('button', { type: 'button', class: 'sort', 'data-sort': column.key }, column.title);
      button.addEventListener('click', () => this.#sortBy(column.key));
      head.append(el('th', { scope: 'col', class: column.className }, button));
    }
    table.replaceChildren(el('thead', {}, head), (this.#body = el('tbody')));
    this.#markSort();
    this.render();
  }

  /**
   * Replaces one pool's leases (call `render()` after the batch).
   * @param {string} poolName @param {readonly any[]} leases
   */
  setLeases(poolName, leases) {
    this.#byPool.set(poolName, Array.isArray(leases) ? leases : []);
  }

  /** @param {readonly string[]} names pools that still exist; the leases of others are dropped */
  keepPools(names) {
    const keep = new Set(names);
    for (const name of [...this.#byPool.keys()]) if (!keep.has(name)) this.#byPool.delete(name);
  }

  /** @param {string} text matched against pool, owner and site, case-insensitively */
  setFilter(text) {
    this.#filter = text.trim().toLowerCase();
    this.render();
  }

  /**
   * Scrolls to and focuses a lease's row; false when the lease is not in this table.
   * @param {string | null} poolName @param {number} leaseId
   */
  focusLease(poolName, leaseId) {
    for (const [key, { row }] of this.#rows) {
      if (row.dataset.leaseId !== String(leaseId) || (poolName !== null && !key.startsWith(`${poolName}\u0000`))) continue;
      row.scrollIntoView({ block: 'center' });
      row.focus();
      return true;
    }
    return false;
  }

  render() {
    const all = [...this.#byPool.values()].flat().map(leaseFields);
    const shown = this.#filter === '' ? all : all.filter((f) => `${f.poolName}\n${f.owner}\n${f.location ?? ''}`.toLowerCase().includes(this.#filter));
    const column = COLUMNS[this.#sortKey];
    const sign = this.#descending ? -1 : 1;
    shown.sort((a, b) => {
      const x = column.sortValue(a);
      const y = column.sortValue(b);
      return (x < y ? -1 : x > y ? 1 : 0) * sign || a.id - b.id;
    });
    const rows = shown.map((f) => this.#row(f));
    const seen = new Set(rows);
    for (const [key, entry] of this.#rows) {
      if (!seen.has(entry.row)) {
        entry.row.remove();
        this.#rows.delete(key);
      }
    }
    const wanted = rows.length > 0 ? rows : [this.#empty];
    if (this.#empty.isConnected && rows.length > 0) this.#empty.remove();
    const current = [...this.#body.children];
    if (current.length !== wanted.length || current.some((node, i) => node !== wanted[i])) this.#body.append(...wanted);
    this.#table.dataset.count = String(rows.length);
  }

  /** @param {LeaseFields} f */
  #row(f) {
    const key = `${f.poolName}\u0000${f.id}`;
    let entry = this.#rows.get(key);
    if (entry === undefined) {
      const row = /** @type {HTMLTableRowElement} */ (el('tr', { 'data-lease-id': f.id, 'data-pool': f.poolName, tabindex: '-1' }));
      for (const column of this.#columns) row.append(el('td', { 'data-field': column.key, class: column.className }));
      entry = { row, stackLength: -1 };
      this.#rows.set(key, entry);
    }
    const { row } = entry;
    row.classList.toggle('leak', f.leakSuspected);
    row.classList.toggle('in-transaction', f.txStatus === 'in-transaction' || f.txStatus === 'failed');
    this.#columns.forEach((column, i) => {
      const cell = /** @type {HTMLTableCellElement} */ (row.cells[i]);
      if (column.key === 'location') {
        if (entry.stackLength !== f.stack.length || cell.childNodes.length === 0) {
          cell.replaceChildren(...locationContent(f));
          entry.stackLength = f.stack.length;
        }
      } else if (column.key === 'id' && f.leakSuspected) {
        if (cell.childNodes.length < 2) cell.replaceChildren(`#${f.id} `, el('span', { class: 'badge badge-critical', title: 'Held past the leak threshold' }, 'leak?'));
      } else {
        setText(cell, column.text(f));
        if (column.key === 'query') cell.title = f.query;
      }
    });
    return row;
  }

  /** @param {string} key */
  #sortBy(key) {
    if (this.#sortKey === key) this.#descending = !this.#descending;
    else {
      this.#sortKey = key;
      this.#descending = ['held', 'waiting'].includes(key);
    }
    this.#markSort();
    this.render();
  }

  #markSort() {
    for (const button of this.#table.querySelectorAll('button[data-sort]')) {
      const th = /** @type {HTMLElement} */ (button.parentElement);
      const active = /** @type {HTMLElement} */ (button).dataset.sort === this.#sortKey;
      if (active) th.setAttribute('aria-sort', this.#descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }
}
