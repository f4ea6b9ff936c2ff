/**
 * Per-pool time-series charts drawn by uPlot (the classic script `uPlot.iife.min.js` defines `window.uPlot`) from the
 * history points the stream carries: the whole retained history on `state`, the new points on each `tick`. The
 * time axis is uPlot's own, in the viewer's local time.
 */
import { el, formatMillis } from './dom-build.js';

/** Points kept per pool (15 minutes at one a second; the server keeps as many by default). */
const MAX_POINTS = 900;
const CHART_HEIGHT = 150;

/**
 * @typedef {object} Sample one history point, normalised
 * @property {number} t epoch seconds
 * @property {number | null} utilization
 * @property {number | null} pending
 * @property {number | null} acquiresPerSecond
 * @property {number | null} waitP95
 * @property {number | null} holdP95
 *
 * @typedef {object} Metric a chart
 * @property {string} id its `data-chart`
 * @property {string} title
 * @property {keyof Sample} field
 * @property {string} color CSS variable of its line
 * @property {(value: number) => string} format
 * @property {[number, number]} [range] fixed y range
 * @property {boolean} [integer] whole numbers only (axis ticks at 1, 2, 5, 10, ...)
 * @property {boolean} [optional] drawn only when some point carries it
 */

/** @type {Metric[]} */
const METRICS = [
  { id: 'utilization', title: 'Utilization (%)', field: 'utilization', color: '--chart-1', format: (v) => `${Math.round(v)} %`, range: [0, 100] },
  { id: 'waiting', title: 'Waiting callers', field: 'pending', color: '--chart-2', format: (v) => String(Math.round(v)), integer: true },
  { id: 'acquires-per-second', title: 'Acquires per second', field: 'acquiresPerSecond', color: '--chart-3', format: (v) => v.toFixed(1) },
  { id: 'wait-p95', title: 'Wait p95', field: 'waitP95', color: '--chart-4', format: formatMillis, optional: true },
  { id: 'hold-p95', title: 'Hold p95', field: 'holdP95', color: '--chart-5', format: formatMillis, optional: true },
];

/**
 * The first number among `keys` of `point`, or null.
 * @param {any} point @param {string[]} keys
 */
function numberOf(point, keys) {
  for (const key of keys) if (typeof point[key] === 'number' && Number.isFinite(point[key])) return point[key];
  return null;
}

/** One pool's samples and charts. */
class PoolChartSet {
  /** @type {Sample[]} */
  samples = [];
  /** @type {number | null} acquiresTotal of the last sample (for the per-second rate) */
  lastAcquiresTotal = null;
  /** @type {Map<string, { box: HTMLElement, plot: any }>} */
  charts = new Map();
  /** @param {HTMLElement} section */
  constructor(section) {
    this.section = section;
  }
}

export class PoolCharts {
  /** @type {HTMLElement} */
  #root;
  /** @type {HTMLSelectElement} */
  #select;
  /** @type {Map<string, PoolChartSet>} */
  #pools = new Map();
  #intervalSeconds = 1;

  /**
   * @param {HTMLElement} root where the per-pool sections go (#charts)
   * @param {HTMLSelectElement} select which pool to chart ('' = all)
   */
  constructor(root, select) {
    this.#root = root;
    this.#select = select;
    select.addEventListener('change', () => this.#showSelected());
    new ResizeObserver(() => this.#resize()).observe(root);
  }

  /** @param {number} millis the server's history interval (for rates when points carry no running total) */
  setHistoryInterval(millis) {
    if (millis > 0) this.#intervalSeconds = millis / 1000;
  }

  /** @param {string} poolName shows that pool's charts */
  select(poolName) {
    this.#select.value = poolName;
    this.#showSelected();
    this.#pools.get(poolName)?.section.scrollIntoView({ block: 'nearest' });
  }

  /** @param {readonly string[]} names the pools now tracked, in order */
  setPools(names) {
    const keep = new Set(names);
    for (const [name, set] of this.#pools) {
      if (keep.has(name)) continue;
      for (const chart of set.charts.values()) chart.plot?.destroy();
      set.section.remove();
      this.#pools.delete(name);
    }
    for (const name of names) if (!this.#pools.has(name)) this.#pools.set(name, this.#addPool(name));
    for (const name of names) this.#root.append(/** @type {PoolChartSet} */ (this.#pools.get(name)).section);
    const selected = this.#select.value;
    this.#select.replaceChildren(el('option', { value: '' }, 'all pools'), ...names.map((name) => el('option', { value: name }, name)));
    this.#select.value = keep.has(selected) ? selected : '';
    this.#showSelected();
  }

  /**
   * Adds history points to a pool's series (`replace` on a `state`, which carries the whole retained history).
   * @param {string} poolName
   * @param {readonly any[]} points PoolHistoryPoint-like: wallMillis or timestamp, utilizationPercent, pending, acquiresTotal or acquires
   * @param {boolean} replace
   */
  addHistory(poolName, points, replace) {
    const set = this.#pools.get(poolName);
    if (set === undefined) return;
    if (replace) {
      set.samples = [];
      set.lastAcquiresTotal = null;
    }
    for (const point of points ?? []) {
      const wall = numberOf(point, ['wallMillis']) ?? Date.parse(point.timestamp);
      if (!Number.isFinite(wall)) continue;
      const t = wall / 1000;
      const previous = set.samples.at(-1);
      if (previous !== undefined && t <= previous.t) continue; // already have it (reconnect overlap)
      set.samples.push({
        t,
        utilization: numberOf(point, ['utilizationPercent']),
        pending: numberOf(point, ['pending']),
        acquiresPerSecond: this.#rate(set, point, previous?.t ?? null, t),
        waitP95: numberOf(point, ['waitP95Millis', 'waitTimeP95Millis']),
        holdP95: numberOf(point, ['holdP95Millis', 'useP95Millis', 'useTimeP95Millis']),
      });
    }
    if (set.samples.length > MAX_POINTS) set.samples.splice(0, set.samples.length - MAX_POINTS);
    if (!set.section.hidden) this.#draw(set);
  }

  /** Rebuilds every chart (after a theme change: uPlot draws axis colours on its canvas). */
  redrawAll() {
    for (const set of this.#pools.values()) {
      for (const chart of set.charts.values()) {
        chart.plot?.destroy();
        chart.plot = null;
      }
      if (!set.section.hidden) this.#draw(set);
    }
  }

  /**
   * Acquires per second at this point: from the running total (acquiresTotal) between two points, or from the
   * per-sample count (acquires) over the interval.
   * @param {PoolChartSet} set @param {any} point @param {number | null} previousT @param {number} t
   */
  #rate(set, point, previousT, t) {
    const total = numberOf(point, ['acquiresTotal']);
    if (total !== null) {
      const last = set.lastAcquiresTotal;
      set.lastAcquiresTotal = total;
      if (last === null || previousT === null || t <= previousT || total < last) return null;
      return (total - last) / (t - previousT);
    }
    const count = numberOf(point, ['acquires']);
    if (count === null) return null;
    const seconds = previousT === null ? this.#intervalSeconds : Math.min(t - previousT, this.#intervalSeconds * 5);
    return seconds > 0 ? count / seconds : null;
  }

  /** @param {string} name */
  #addPool(name) {
    const grid = el('div', { class: 'chart-grid' });
    const section = el('section', { class: 'pool-charts', 'data-pool-charts': name, 'aria-label': `Charts of ${name}` }, el('h3', {}, name), grid);
    const set = new PoolChartSet(section);
    for (const metric of METRICS) {
      const box = el('figure', { class: 'chart', 'data-chart': metric.id, 'data-points': '0', hidden: metric.optional === true }, el('figcaption', {}, metric.title));
      grid.append(box);
      set.charts.set(metric.id, { box, plot: null });
    }
    return set;
  }

  #showSelected() {
    const selected = this.#select.value;
    for (const [name, set] of this.#pools) {
      set.section.hidden = selected !== '' && selected !== name;
      if (!set.section.hidden) this.#draw(set);
    }
  }

  /** @param {PoolChartSet} set */
  #draw(set) {
    const uPlot = /** @type {any} */ (window).uPlot;
    if (typeof uPlot !== 'function') return;
    const xs = set.samples.map((s) => s.t);
    for (const metric of METRICS) {
      const chart = /** @type {{ box: HTMLElement, plot: any }} */ (set.charts.get(metric.id));
      const ys = set.samples.map((s) => /** @type {number | null} */ (s[metric.field]));
      if (metric.optional) chart.box.hidden = !ys.some((y) => y !== null);
      if (chart.box.hidden) continue;
      const data = [xs, ys];
      chart.box.dataset.points = String(ys.filter((y) => y !== null).length);
      if (chart.plot === null) {
        const width = chart.box.clientWidth;
        if (width === 0) continue; // not laid out yet; drawn on the next tick or resize
        chart.plot = new uPlot(this.#options(metric, width), data, chart.box);
      } else {
        chart.plot.setData(data);
      }
    }
  }

  /** @param {Metric} metric @param {number} width */
  #options(metric, width) {
    const css = getComputedStyle(document.documentElement);
    const color = (/** @type {string} */ name) => css.getPropertyValue(name).trim() || '#888';
    const axis = { stroke: color('--fg-muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid'), width: 1 } };
    const line = color(metric.color);
    return {
      width,
      height: CHART_HEIGHT,
      cursor: { drag: { x: false, y: false, setScale: false } },
      scales: {
        x: { time: true },
        y: { range: metric.range ?? ((/** @type {any} */ _u, /** @type {number} */ _min, /** @type {number} */ max) => [0, Math.max(1, max * 1.1)]) },
      },
      series: [
        {},
        {
          label: metric.title,
          stroke: line,
          fill: color(`${metric.color}-fill`),
          width: 2,
          points: { show: false },
          value: (/** @type {any} */ _u, /** @type {number | null} */ v) => (v === null ? '-' : metric.format(v)),
        },
      ],
      axes: [
        axis,
        { ...axis, size: 60, ...(metric.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] } : {}), values: (/** @type {any} */ _u, /** @type {number[]} */ ticks) => ticks.map((v) => metric.format(v)) },
      ],
    };
  }

  #resize() {
    for (const set of this.#pools.values()) {
      if (set.section.hidden) continue;
      for (const chart of set.charts.values()) {
        const width = chart.box.clientWidth;
        if (chart.plot !== null && width > 0 && chart.plot.width !== width) chart.plot.setSize({ width, height: CHART_HEIGHT });
      }
      this.#draw(set);
    }
  }
}
