/**
 * The database's view (#server-view): GET /api/server every 5 s while the tab is visible, shown only when the
 * stream's `hello` says the ops routes have a `serverView`. Headroom to max_connections, sessions by application and
 * state, statements running now, sessions idle in a transaction (oldest first), lock waits and the oldest open
 * transaction, as PostgreSQL's pg_stat_activity reports them (a ServerActivityReport, src/server/activity-report.ts),
 * each query with who sent it from where when its comment says (`queryTags`, pools tracked with queryComments).
 */
import { el, fillTable, formatCount, formatMillis, formatTime, replaceWith, setText } from './dom-build.js';
import { AccessRefused, fetchJson } from './event-stream.js';

const REFRESH_MILLIS = 5000;
/** Headroom below this share of what ordinary roles may open is a warning; none left is critical. */
const LOW_HEADROOM_SHARE = 0.1;

/**
 * @typedef {object} ServerPanelElements
 * @property {HTMLElement} section #server-view (hidden unless enabled)
 * @property {HTMLElement} status where "updated at" or a failure is said
 * @property {HTMLElement} headroom #server-headroom: the connection budget
 * @property {HTMLTableElement} groups #server-groups
 * @property {HTMLTableElement} idle #server-idle-in-transaction
 * @property {HTMLTableElement} locks #server-lock-waits
 * @property {HTMLElement} oldest #server-oldest-transaction
 */

export class ServerPanel {
  #prefix;
  /** @type {ServerPanelElements} */
  #els;
  #onRefused;
  #enabled = false;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  #running;

  /**
   * @param {string} prefix
   * @param {ServerPanelElements} elements
   * @param {() => void} onRefused a data route answered 401/403
   */
  constructor(prefix, elements, onRefused) {
    this.#prefix = prefix;
    this.#els = elements;
    this.#onRefused = onRefused;
    // The shell has no place for it: made here, under the sessions table.
    this.#running = /** @type {HTMLTableElement} */ (el('table', { class: 'data compact' }));
    elements.groups.parentElement?.parentElement?.append(el('h3', {}, 'Running now'), el('div', { class: 'scroll medium' }, this.#running));
    document.addEventListener('visibilitychange', () => {
      if (this.#enabled && this.#timer !== undefined && !document.hidden) void this.refresh();
    });
  }

  /**
   * Shows the panel and polls (true), or hides it and stops (false). Called on every `hello`.
   * @param {boolean} enabled
   */
  setEnabled(enabled) {
    this.#enabled = enabled;
    this.#els.section.hidden = !enabled;
    if (enabled) this.start();
    else this.#stop();
  }

  /** Loads now and every 5 s after while the tab is visible (restarting the period); nothing when disabled. */
  start() {
    this.#stop();
    if (!this.#enabled) return;
    void this.refresh();
    this.#timer = setInterval(() => {
      if (!document.hidden) void this.refresh();
    }, REFRESH_MILLIS);
  }

  #stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async refresh() {
    try {
      const report = await fetchJson(this.#prefix, '/api/server');
      if (!this.#enabled) return;
      this.#render(report);
      setText(this.#els.status, `Updated ${formatTime(report.takenAt ?? Date.now())}${report.version ? ` · PostgreSQL ${report.version}` : ''}`);
    } catch (error) {
      if (error instanceof AccessRefused) {
        this.#stop(); // asked again once a token is given (start())
        setText(this.#els.status, 'A token is needed.');
        this.#onRefused();
      } else {
        setText(this.#els.status, `Could not load: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** @param {any} report ServerActivityReport */
  #render(report) {
    this.#renderHeadroom(report);
    this.#renderGroups(Array.isArray(report.groups) ? report.groups : []);
    const running = (Array.isArray(report.sessions) ? report.sessions : []).filter((s) => s.state === 'active');
    const rows = running.map((s) =>
      el('tr', { 'data-pid': s.pid }, el('td', { class: 'num' }, formatMillis(s.queryAgeMillis)), el('td', {}, s.applicationName || '(none)'), queryCell(s.query, s.queryTags)),
    );
    fillTable(this.#running, ['Running', 'Application', 'Query'], rows, 'No statement is running.');
    this.#renderIdle(Array.isArray(report.idleInTransaction) ? report.idleInTransaction : []);
    this.#renderLocks(Array.isArray(report.waitingOnLocks) ? report.waitingOnLocks : []);
    this.#renderOldest(report.oldestTransaction ?? null);
  }

  /** @param {any} report */
  #renderHeadroom(report) {
    const max = Number(report.maxConnections);
    const reserved = Number(report.reservedConnections);
    const used = Number(report.usedConnections);
    const headroom = Number(report.headroom);
    const open = max - reserved;
    const level = headroom <= 0 ? 'critical' : open > 0 && headroom < open * LOW_HEADROOM_SHARE ? 'warning' : 'normal';
    const share = open > 0 ? Math.min(100, Math.max(0, Math.round((used / open) * 100))) : 100;
    /** @param {string} field @param {string} label @param {unknown} value */
    const figure = (field, label, value) => el('div', { class: 'figure', 'data-field': field }, el('dt', {}, label), el('dd', {}, formatCount(value)));
    const fill = el('span', { class: 'meter-fill' });
    fill.style.width = `${share}%`; // a CSSOM property, not an inline style attribute: allowed by the CSP
    this.#els.headroom.className = `server-headroom level-${level}`;
    replaceWith(
      this.#els.headroom,
      el(
        'dl',
        { class: 'figures' },
        figure('used', 'Used', used),
        figure('max', 'max_connections', max),
        figure('reserved', 'Reserved', reserved),
        figure('headroom', 'Headroom', headroom),
      ),
      el('p', { class: 'utilization' }, el('span', { class: 'meter', 'aria-hidden': 'true' }, fill), `${share}% of the ${formatCount(open)} connections ordinary roles may open`),
      Number(report.hiddenBackends) > 0
        ? el('p', { class: 'muted' }, `${report.hiddenBackends} backend(s) hidden from this role (grant pg_read_all_stats to see them).`)
        : null,
    );
  }

  /** @param {readonly any[]} groups ServerActivityGroup[], largest first */
  #renderGroups(groups) {
    const rows = groups.map((g) =>
      el(
        'tr',
        { 'data-application': g.applicationName ?? '', 'data-state': g.state ?? '' },
        el('td', { 'data-field': 'application' }, g.applicationName === '' ? '(none)' : g.applicationName),
        el('td', { 'data-field': 'state' }, g.state ?? '(hidden)'),
        el('td', { 'data-field': 'user' }, g.user ?? '-'),
        el('td', { 'data-field': 'database' }, g.database ?? '-'),
        el('td', { class: 'num', 'data-field': 'count' }, formatCount(g.count)),
      ),
    );
    fillTable(this.#els.groups, ['Application', 'State', 'User', 'Database', 'Sessions'], rows, 'No client sessions.');
  }

  /** @param {readonly any[]} sessions IdleInTransactionSession[] */
  #renderIdle(sessions) {
    const oldestFirst = [...sessions].sort((a, b) => (b.transactionAgeMillis ?? -1) - (a.transactionAgeMillis ?? -1));
    const rows = oldestFirst.map((s) =>
      el(
        'tr',
        { 'data-pid': s.pid, 'data-application': s.applicationName ?? '' },
        el('td', { class: 'num', 'data-field': 'pid' }, formatCount(s.pid)),
        el('td', { class: 'num', 'data-field': 'transaction-age' }, formatMillis(s.transactionAgeMillis)),
        el('td', { class: 'num', 'data-field': 'idle-for' }, formatMillis(s.stateAgeMillis)),
        el('td', { 'data-field': 'application' }, s.applicationName || '(none)'),
        el('td', { 'data-field': 'state' }, s.state ?? '-'),
        queryCell(s.query, s.queryTags),
      ),
    );
    fillTable(this.#els.idle, ['PID', 'Transaction age', 'Idle for', 'Application', 'State', 'Last query'], rows, 'No session is idle in a transaction.');
  }

  /** @param {readonly any[]} waits LockWaitSession[], longest wait first */
  #renderLocks(waits) {
    const rows = waits.map((w) =>
      el(
        'tr',
        { 'data-pid': w.pid, 'data-application': w.applicationName ?? '' },
        el('td', { class: 'num', 'data-field': 'pid' }, formatCount(w.pid)),
        el('td', { class: 'num', 'data-field': 'waiting' }, formatMillis(w.waitingMillis)),
        el('td', { 'data-field': 'blocked-by' }, Array.isArray(w.blockedBy) && w.blockedBy.length > 0 ? w.blockedBy.join(', ') : '-'),
        el('td', { 'data-field': 'wait-event' }, w.waitEvent ?? '-'),
        el('td', { 'data-field': 'application' }, w.applicationName || '(none)'),
        queryCell(w.query, w.queryTags),
      ),
    );
    fillTable(this.#els.locks, ['PID', 'Waiting', 'Blocked by', 'Lock', 'Application', 'Query'], rows, 'No session waits on a lock.');
  }

  /** @param {any} oldest OldestTransaction or null */
  #renderOldest(oldest) {
    if (oldest === null || typeof oldest !== 'object') {
      this.#els.oldest.replaceChildren(el('p', { class: 'empty' }, 'No open transaction.'));
      return;
    }
    replaceWith(
      this.#els.oldest,
      el(
        'p',
        { 'data-pid': oldest.pid },
        el('strong', { 'data-field': 'transaction-age' }, formatMillis(oldest.transactionAgeMillis)),
        ` open, PID ${formatCount(oldest.pid)}, ${oldest.applicationName || '(no application name)'}, ${oldest.state ?? 'state hidden'}`,
      ),
      oldest.queryTags ? el('p', { class: 'muted', 'data-field': 'sent-by' }, sentBy(oldest.queryTags)) : null,
      oldest.query ? el('pre', { class: 'query' }, oldest.query) : null,
    );
  }
}

/**
 * @param {unknown} query
 * @param {any} [tags] its ServerQueryTags
 * @returns {HTMLElement} a cell with the SQL text (its full text in the title), after who sent it when known
 */
function queryCell(query, tags) {
  const text = typeof query === 'string' ? query : '';
  return el('td', { class: 'query', 'data-field': 'query', title: text || null }, tags ? el('div', { 'data-field': 'sent-by' }, sentBy(tags)) : null, text || '-');
}

/**
 * @param {any} tags ServerQueryTags
 * @returns {string} `by "GET /orders" at src/orders.ts:42:17, lease #12 of main`
 */
function sentBy(tags) {
  const lease = tags.leaseId === null ? '' : `, lease #${tags.leaseId}${tags.poolName === null ? '' : ` of ${tags.poolName}`}`;
  return `${tags.owner === null ? 'sent' : `by ${JSON.stringify(tags.owner)}`}${tags.location === null ? '' : ` at ${tags.location}`}${lease}`;
}
