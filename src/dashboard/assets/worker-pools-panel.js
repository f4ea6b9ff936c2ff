/**
 * Worker pools (#worker-pools): a row per pool (profile, used / capacity, utilization, level, queue, tasks, run and
 * wait p95, memory), then each pool's live workers. Hidden without worker pools; rebuilt only when its text changes.
 */
import { el, fillTable, formatCount as n, formatMillis } from './dom-build.js';
import { percentile } from './pools-table.js';

/** Seed 002's levels in the page's colours. */
const COLOR = { LOW: 'normal', GOOD: 'normal', HIGH: 'warning', CRITICAL: 'critical' };
const HEAD = ['Pool', 'Profile', 'Used / capacity', 'Utilization', 'Level', 'Queue', 'Tasks', 'Run p95', 'Wait p95', 'Memory'];

/** @param {unknown} mb */
const megabytes = (mb) => (typeof mb === 'number' ? `${mb} MB` : 'n/a');

/** @param {any} f WorkerPoolFrame @returns {string[]} its row's cells */
function poolCells(f) {
  const s = f.stats ?? {};
  const c = s.counters ?? {};
  return [
    `${f.driver} ${f.profile}`,
    `${n(s.capacityUsed)} / ${n(s.capacity)}`,
    `${n(s.utilizationPercent)} %`,
    s.level,
    s.queueLimit == null ? n(s.queueSize) : `${n(s.queueSize)} / ${s.queueLimit}`,
    `${n(c.tasksCompleted)} done, ${n(c.tasksFailed)} failed, ${n(c.tasksRejected)} rejected`,
    formatMillis(percentile(s.runTime, 'p95')),
    formatMillis(percentile(s.waitTime, 'p95')),
    megabytes(s.memory?.totalMb),
  ];
}

/** @param {any} w WorkerSnapshot @returns {any[]} its id, its row's cells, why its memory is not shown */
function workerCells(w) {
  return [w.id, `#${w.id} ${w.pid === null ? `thread ${w.threadId}` : `pid ${w.pid}`}`, w.status, `${n(w.load)} / ${w.capacity}`, megabytes(w.memoryMb), w.memoryNote];
}

export class WorkerPoolsPanel {
  #section;
  #body;
  #shown = '';

  /** @param {HTMLElement} section #worker-pools @param {HTMLElement} body where its tables go */
  constructor(section, body) {
    this.#section = section;
    this.#body = body;
  }

  /** @param {readonly any[]} frames the WorkerPoolFrames of a `state` or `tick` */
  update(frames) {
    const pools = frames.map((f) => [String(f.poolName), poolCells(f), (f.workers ?? []).map(workerCells)]);
    const shown = JSON.stringify(pools);
    if (shown === this.#shown) return;
    this.#shown = shown;
    this.#section.hidden = pools.length === 0;
    const table = el('table', { class: 'data' });
    const rows = pools.map(([name, cells]) => {
      const level = `level level-${COLOR[cells[3]] ?? 'normal'}`;
      return el('tr', { 'data-worker-pool': name }, el('th', { scope: 'row' }, name), ...cells.map((text, i) => el('td', { class: i === 3 && level }, text)));
    });
    fillTable(table, HEAD, rows, '');
    const parts = pools.flatMap(([name, , workers]) => {
      const list = el('table', { class: 'data compact', 'data-workers-of': name });
      const items = workers.map(([id, who, ...cells]) => el('tr', { 'data-worker': id, title: cells.pop() }, el('th', { scope: 'row' }, who), ...cells.map((text) => el('td', {}, text))));
      fillTable(list, ['Worker', 'Status', 'Load / capacity', 'Memory'], items, 'No live workers.');
      return [el('h3', {}, `Workers of ${name}`), list];
    });
    this.#body.replaceChildren(el('div', { class: 'scroll' }, table), ...parts);
  }
}
