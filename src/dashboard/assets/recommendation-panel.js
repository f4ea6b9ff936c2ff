/**
 * Recommendations (#recommendations): GET /api/recommendations every 10 s (the same rules as the CLI's), shown
 * most severe first as the server orders them.
 */
import { el, formatTime } from './dom-build.js';
import { AccessRefused, fetchJson } from './event-stream.js';

const REFRESH_MILLIS = 10_000;

export class RecommendationPanel {
  #prefix;
  #list;
  #status;
  #onRefused;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;

  /**
   * @param {string} prefix
   * @param {HTMLElement} list #recommendations
   * @param {HTMLElement} status where "updated at" or a failure is said
   * @param {() => void} onRefused a data route answered 401/403
   */
  constructor(prefix, list, status, onRefused) {
    this.#prefix = prefix;
    this.#list = list;
    this.#status = status;
    this.#onRefused = onRefused;
  }

  /** Loads now and every 10 s after (restarting the period). */
  start() {
    clearInterval(this.#timer);
    void this.refresh();
    this.#timer = setInterval(() => {
      if (!document.hidden) void this.refresh();
    }, REFRESH_MILLIS);
  }

  async refresh() {
    try {
      const report = await fetchJson(this.#prefix, '/api/recommendations');
      this.#render(Array.isArray(report.recommendations) ? report.recommendations : []);
      this.#status.textContent = `Updated ${formatTime(report.timestamp ?? Date.now())}`;
    } catch (error) {
      if (error instanceof AccessRefused) {
        clearInterval(this.#timer); // asked again once a token is given (start())
        this.#status.textContent = 'A token is needed.';
        this.#onRefused();
      } else {
        this.#status.textContent = `Could not load: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  }

  /** @param {readonly any[]} recommendations Recommendation[] (core/recommendation-types.ts) */
  #render(recommendations) {
    if (recommendations.length === 0) {
      this.#list.replaceChildren(el('li', { class: 'empty' }, 'Nothing to recommend: the pools look right for their load.'));
      return;
    }
    this.#list.replaceChildren(
      ...recommendations.map((r) => {
        const severity = ['info', 'warning', 'critical'].includes(r.severity) ? r.severity : 'info';
        const item = el(
          'li',
          { 'data-recommendation-id': r.id, 'data-pool': r.poolName, class: `recommendation sev-${severity}` },
          el('p', { class: 'recommendation-title' }, el('span', { class: `badge badge-${severity}` }, severity), ' ', r.poolName === null ? 'all pools' : r.poolName, ': ', r.title ?? r.id),
        );
        if (Array.isArray(r.evidence) && r.evidence.length > 0) item.append(el('ul', { class: 'evidence' }, ...r.evidence.map((/** @type {string} */ e) => el('li', {}, e))));
        if (Array.isArray(r.fixes) && r.fixes.length > 0) item.append(el('ol', { class: 'fixes' }, ...r.fixes.map((/** @type {string} */ f) => el('li', {}, f))));
        if (r.change) item.append(el('p', { class: 'change' }, 'Change ', el('code', {}, String(r.change.option)), ` from ${r.change.from} to ${r.change.to}`));
        return item;
      }),
    );
  }
}
