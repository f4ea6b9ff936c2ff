/**
 * The pools table (#pools): one row per pool, kept and updated in place on every tick (so focus and selection
 * survive), added and removed as pools come and go.
 */
import { el, formatCount, formatMillis, setText } from './dom-build.js';

const LEVELS = ['normal', 'warning', 'critical'];

/** The misuse counters shown, with their short labels. */
const MISUSE = [
  ['leaksSuspected', 'leak'],
  ['dirtyReleases', 'dirty'],
  ['doubleReleases', 'double'],
  ['foreignReleases', 'foreign'],
  ['releasesInFlight', 'in flight'],
  ['ownerEndedHolding', 'owner ended'],
];

/**
 * A percentile of a distribution snapshot, in ms (PoolStats has `p95Millis`; `p95` read too).
 * @param {any} distribution
 * @param {'p50' | 'p95' | 'p99'} which
 * @returns {number | null}
 */
export function percentile(distribution, which) {
  if (!distribution || !distribution.count) return null;
  const value = distribution[`${which}Millis`] ?? distribution[which];
  return typeof value === 'number' ? value : null;
}

export class PoolsTable {
  /** @type {HTMLTableSectionElement} */
  #body;
  /** @type {Map<string, HTMLTableRowElement>} */
  #rows = new Map();
  /** @type {(poolName: string) => void} */
  #onSelect;

  /**
   * @param {HTMLTableElement} table #pools
   * @param {(poolName: string) => void} onSelect called when a pool's name is clicked
   */
  constructor(table, onSelect) {
    this.#body = /** @type {HTMLTableSectionElement} */ (table.tBodies[0] ?? table.appendChild(el('tbody')));
    this.#onSelect = onSelect;
  }

  /**
   * Makes the rows match `names` (in that order): adds empty rows for new pools, removes the others.
   * @param {readonly string[]} names
   */
  setPools(names) {
    const keep = new Set(names);
    for (const [name, row] of this.#rows) {
      if (!keep.has(name)) {
        row.remove();
        this.#rows.delete(name);
      }
    }
    names.forEach((name, index) => {
      const row = this.#rows.get(name) ?? this.#addRow(name);
      if (this.#body.rows[index] !== row) this.#body.insertBefore(row, this.#body.rows[index] ?? null);
    });
  }

  /**
   * Updates a pool's row from its frame.
   * @param {any} frame PoolFrame: { poolName, driver, stats }
   */
  update(frame) {
    const row = this.#rows.get(frame.poolName);
    if (row === undefined) return;
    const s = frame.stats ?? {};
    const level = LEVELS.includes(s.level) ? s.level : 'normal';
    for (const name of LEVELS) row.classList.toggle(`level-${name}`, name === level);
    const cell = (/** @type {string} */ field) => /** @type {HTMLElement} */ (row.querySelector(`[data-field="${field}"]`));
    setText(cell('driver'), frame.driver ?? '-');
    setText(cell('connections'), `${formatCount(s.used)} / ${formatCount(s.idle)} / ${formatCount(s.max)}`);
    setText(cell('pending'), formatCount(s.pending));
    cell('pending').classList.toggle('nonzero', s.pending > 0);
    const util = typeof s.utilizationPercent === 'number' ? s.utilizationPercent : 0;
    setText(cell('utilization-text'), `${Math.round(util)} %`);
    cell('utilization-bar').style.width = `${Math.max(0, Math.min(100, util))}%`;
    const levelCell = cell('level');
    for (const name of LEVELS) levelCell.classList.toggle(`level-${name}`, name === level);
    setText(levelCell, level);
    const expectFull = cell('expect-full');
    expectFull.hidden = !s.expectFull;
    expectFull.title = 'This pool is expected to run full (expectFull): full is not a warning.';
    const counters = s.counters ?? {};
    setText(cell('timeouts'), formatCount(counters.timeouts));
    cell('timeouts').classList.toggle('nonzero', counters.timeouts > 0);
    const misuse = MISUSE.filter(([key]) => counters[key] > 0).map(([key, label]) => `${counters[key]} ${label}`);
    setText(cell('misuse'), misuse.length > 0 ? misuse.join(', ') : 'none');
    cell('misuse').classList.toggle('nonzero', misuse.length > 0);
    setText(cell('wait-p95'), formatMillis(percentile(s.waitTime, 'p95')));
    setText(cell('hold-p95'), formatMillis(percentile(s.useTime, 'p95')));
  }

  /** @param {string} name */
  #addRow(name) {
    const select = el('button', { type: 'button', class: 'link', title: `Show the charts of ${name}` }, name);
    select.addEventListener('click', () => this.#onSelect(name));
    const row = /** @type {HTMLTableRowElement} */ (
      el(
        'tr',
        { 'data-pool': name, class: 'level-normal' },
        el('th', { scope: 'row', 'data-field': 'name' }, select, ' ', el('span', { 'data-field': 'expect-full', class: 'badge', hidden: true }, 'expect full')),
        el('td', { 'data-field': 'driver' }, '-'),
        el('td', { 'data-field': 'connections', class: 'num' }, '-'),
        el('td', { 'data-field': 'pending', class: 'num' }, '-'),
        el(
          'td',
          { class: 'utilization' },
          el('span', { class: 'meter', 'aria-hidden': 'true' }, el('span', { class: 'meter-fill', 'data-field': 'utilization-bar' })),
          el('span', { 'data-field': 'utilization-text', class: 'num' }, '-'),
        ),
        el('td', { 'data-field': 'level', class: 'level level-normal' }, 'normal'),
        el('td', { 'data-field': 'timeouts', class: 'num' }, '-'),
        el('td', { 'data-field': 'misuse' }, '-'),
        el('td', { 'data-field': 'wait-p95', class: 'num' }, '-'),
        el('td', { 'data-field': 'hold-p95', class: 'num' }, '-'),
      )
    );
    this.#rows.set(name, row);
    return row;
  }
}
