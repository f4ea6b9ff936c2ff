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
 * @property {number | null} waitP50
 * @property {number | null} waitP95
 * @property {number | null} waitP99
 * @property {number | null} holdP50
 * @property {number | null} holdP95
 * @property {number | null} holdP99
 *
 * @typedef {object} Metric a chart
 * @property {string} id its `data-chart`
 * @property {string} title
 * @property {Series[]} series its lines (one, or p50/p95/p99)
 * @property {(value: number) => string} format
 * @property {[number, number]} [range] fixed y range
 * @property {boolean} [integer] whole numbers only (axis ticks at 1, 2, 5, 10, ...)
 * @property {boolean} [optional] drawn only when some point carries it
 * @property {boolean} [dots] mark each point (a series with gaps: intervals without checkouts have no value)
 *
 * @typedef {object} Series one line of a chart
 * @property {string} label
 * @property {keyof Sample} field
 * @property {string} color CSS variable of its line
 * @property {boolean} [fill] shade the area under it
 */

/** The p50, p95 and p99 lines of a duration chart (`prefix` is `wait` or `hold`). @param {'wait' | 'hold'} prefix */
function percentileSeries(prefix) {
  return /** @type {Series[]} */ ([
    { label: 'p50', field: `${prefix}P50`, color: '--chart-3' },
    { label: 'p95', field: `${prefix}P95`, color: '--chart-4', fill: true },
    { label: 'p99', field: `${prefix}P99`, color: '--chart-5' },
  ]);
}

/** @type {Metric[]} */
const METRICS = [
  { id: 'utilization', title: 'Utilization (%)', series: [{ label: 'Utilization (%)', field: 'utilization', color: '--chart-1', fill: true }], format: (v) => `${Math.round(v)} %`, range: [0, 100] },
  {
    id: 'waiting',
    title: 'Waiting callers',
    series: [{ label: 'Waiting callers', field: 'pending', color: '--chart-2', fill: true }],
    format: (v) => String(Math.round(v)),
    integer: true,
  },
  {
    id: 'acquires-per-second',
    title: 'Acquires per second',
    series: [{ label: 'Acquires per second', field: 'acquiresPerSecond', color: '--chart-3', fill: true }],
    format: (v) => v.toFixed(1),
  },
  // Percentiles of each history interval's waits (request to connection) and holds (connection to release).
  { id: 'wait-time', title: 'Wait time p50 / p95 / p99', series: percentileSeries('wait'), format: formatMillis, optional: true, dots: true },
  { id: 'hold-time', title: 'Hold time p50 / p95 / p99', series: percentileSeries('hold'), format: formatMillis, optional: true, dots: true },
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
        waitP50: numberOf(point, ['waitP50Millis']),
        waitP95: numberOf(point, ['waitP95Millis']),
        waitP99: numberOf(point, ['waitP99Millis']),
        holdP50: numberOf(point, ['holdP50Millis']),
        holdP95: numberOf(point, ['holdP95Millis']),
        holdP99: numberOf(point, ['holdP99Millis']),
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
      const columns = metric.series.map((series) => set.samples.map((s) => /** @type {number | null} */ (s[series.field])));
      const main = columns[Math.min(1, columns.length - 1)] ?? [];
      if (metric.optional) chart.box.hidden = !main.some((y) => y !== null);
      if (chart.box.hidden) continue;
      const data = [xs, ...columns];
      chart.box.dataset.points = String(main.filter((y) => y !== null).length);
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
        ...metric.series.map((series) => ({
          label: series.label,
          stroke: color(series.color),
          ...(series.fill ? { fill: color(`${series.color}-fill`) } : {}),
          width: 2,
          points: metric.dots ? { show: true, size: 5 } : { show: false },
          value: (/** @type {any} */ _u, /** @type {number | null} */ v) => (v === null ? '-' : metric.format(v)),
        })),
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
