/**
 * poolscope's live dashboard: the entry module. Reads the prefix from <meta name="poolscope-prefix">, opens the
 * event stream and applies its frames (hello, state, tick, event, pools) to the page's parts: pools table, worker
 * pools, charts, holders and waiters, event feed, snapshots, recommendations, the database's view and the cluster (when the server
 * has them). Also the header (connection state, theme) and the token form. Plain browser JavaScript, served as is:
 * no build step.
 */
import { EventStream, storedToken, storeToken } from './event-stream.js';
import { PoolsTable } from './pools-table.js';
import { PoolCharts } from './pool-charts.js';
import { LeaseTable } from './lease-tables.js';
import { EventFeed } from './event-feed.js';
import { SnapshotPanel } from './snapshot-panel.js';
import { RecommendationPanel } from './recommendation-panel.js';
import { ServerPanel } from './server-panel.js';
import { ClusterPanel } from './cluster-panel.js';
import { WorkerPoolsPanel } from './worker-pools-panel.js';

const THEME_KEY = 'poolscope-theme';

/**
 * An element the shell must have.
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`dashboard.html has no #${id}`);
  return /** @type {T} */ (node);
}

/** @returns {string} the path prefix of every route ('' or `/ops`), as the server filled it in */
function readPrefix() {
  const content = document.querySelector('meta[name="poolscope-prefix"]')?.getAttribute('content') ?? '';
  return content === '%PREFIX%' ? '' : content.replace(/\/+$/, '');
}

/**
 * The theme: stored choice, else the system's preference; the toggle flips and stores it.
 * @param {HTMLButtonElement} toggle
 * @param {() => void} onChange
 */
function setUpTheme(toggle, onChange) {
  /** @param {'light' | 'dark'} theme */
  const apply = (theme) => {
    document.documentElement.dataset.theme = theme;
    toggle.textContent = theme === 'dark' ? 'Light theme' : 'Dark theme';
    toggle.setAttribute('aria-pressed', String(theme === 'dark'));
  };
  let stored = null;
  try {
    stored = localStorage.getItem(THEME_KEY);
  } catch {
    // storage refused: follow the system
  }
  apply(stored === 'dark' || stored === 'light' ? stored : matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  toggle.addEventListener('click', () => {
    const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    apply(next);
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // not kept; fine
    }
    onChange();
  });
}

function main() {
  const prefix = readPrefix();
  const connection = byId('connection');
  const notice = byId('notice');
  const tokenForm = /** @type {HTMLFormElement} */ (byId('token-form'));
  const tokenError = byId('token-error');

  const charts = new PoolCharts(byId('charts'), /** @type {HTMLSelectElement} */ (byId('chart-pool')));
  const pools = new PoolsTable(/** @type {HTMLTableElement} */ (byId('pools')), (name) => charts.select(name));
  const workerPools = new WorkerPoolsPanel(byId('worker-pools'), byId('worker-pools-body'));
  const holders = new LeaseTable(/** @type {HTMLTableElement} */ (byId('holders')), 'holders');
  const waiters = new LeaseTable(/** @type {HTMLTableElement} */ (byId('waiters')), 'waiters');
  const askToken = () => showTokenForm();
  const snapshots = new SnapshotPanel(
    prefix,
    { list: byId('snapshots'), detail: byId('snapshot-detail'), button: /** @type {HTMLButtonElement} */ (byId('take-snapshot')), status: byId('snapshot-status') },
    askToken,
  );
  const recommendations = new RecommendationPanel(prefix, byId('recommendations'), byId('recommendations-status'), askToken);
  const server = new ServerPanel(
    prefix,
    {
      section: byId('server-view'),
      status: byId('server-status'),
      headroom: byId('server-headroom'),
      groups: /** @type {HTMLTableElement} */ (byId('server-groups')),
      idle: /** @type {HTMLTableElement} */ (byId('server-idle-in-transaction')),
      locks: /** @type {HTMLTableElement} */ (byId('server-lock-waits')),
      oldest: byId('server-oldest-transaction'),
    },
    askToken,
  );
  const cluster = new ClusterPanel(
    prefix,
    {
      section: byId('cluster-view'),
      ask: /** @type {HTMLButtonElement} */ (byId('cluster-ask')),
      nodes: /** @type {HTMLInputElement} */ (byId('cluster-nodes')),
      auto: /** @type {HTMLInputElement} */ (byId('cluster-auto')),
      status: byId('cluster-status'),
      result: byId('cluster-result'),
    },
    askToken,
  );
  const feed = new EventFeed(/** @type {HTMLTableElement} */ (byId('events')), {
    onLease: (poolName, leaseId) => {
      if (!holders.focusLease(poolName, leaseId) && !waiters.focusLease(poolName, leaseId)) say(`Lease #${leaseId} is no longer held or waiting.`);
    },
    onSnapshot: (poolName, snapshotId) => void snapshots.show(poolName, snapshotId),
  });

  setUpTheme(/** @type {HTMLButtonElement} */ (byId('theme-toggle')), () => charts.redrawAll());

  const filter = /** @type {HTMLInputElement} */ (byId('lease-filter'));
  filter.addEventListener('input', () => {
    holders.setFilter(filter.value);
    waiters.setFilter(filter.value);
  });

  /** @param {string} text said in the polite live region */
  function say(text) {
    notice.textContent = text;
  }

  function showTokenForm() {
    tokenError.textContent = storedToken() ? 'The token was refused. Check it and try again.' : '';
    if (tokenForm.hidden) {
      tokenForm.hidden = false;
      /** @type {HTMLInputElement | null} */ (tokenForm.querySelector('input[name="token"]'))?.focus();
    }
  }

  /** @param {readonly string[]} names the pools tracked now, in order */
  function setPools(names) {
    pools.setPools(names);
    charts.setPools(names);
    holders.keepPools(names);
    waiters.keepPools(names);
  }

  /**
   * @param {readonly any[]} frames PoolFrames
   * @param {boolean} whole a `state` (whole history) rather than a `tick`
   */
  function applyFrames(frames, whole) {
    setPools(frames.map((f) => f.poolName));
    for (const frame of frames) {
      pools.update(frame);
      charts.addHistory(frame.poolName, frame.history ?? [], whole);
      holders.setLeases(frame.poolName, frame.holders ?? []);
      waiters.setLeases(frame.poolName, frame.waiters ?? []);
    }
    holders.render();
    waiters.render();
  }

  /** @param {string} event @param {any} payload */
  function onMessage(event, payload) {
    switch (event) {
      case 'hello':
        byId('app-name').textContent = payload.appName ?? 'poolscope';
        byId('instance-id').textContent = payload.instanceId ?? '';
        document.title = `${payload.appName ?? 'poolscope'}: poolscope dashboard`;
        charts.setHistoryInterval(payload.historyIntervalMillis ?? 0);
        server.setEnabled(payload.serverView === true);
        cluster.setEnabled(payload.cluster === true);
        break;
      case 'state':
        applyFrames(Array.isArray(payload.pools) ? payload.pools : [], true);
        workerPools.update(payload.workerPools ?? []);
        feed.reset(payload.events ?? []);
        snapshots.reset(payload.snapshots ?? []);
        for (const item of payload.events ?? []) snapshots.noteEvent(item);
        break;
      case 'tick':
        applyFrames(Array.isArray(payload.pools) ? payload.pools : [], false);
        workerPools.update(payload.workerPools ?? []);
        break;
      case 'event':
        feed.add(payload);
        snapshots.noteEvent(payload);
        break;
      case 'pools':
        if (Array.isArray(payload.poolNames)) setPools(payload.poolNames);
        break;
      default:
        break; // an event this page does not know: newer server, ignored
    }
  }

  const stream = new EventStream(prefix, {
    onMessage,
    onState: (state) => {
      connection.textContent = state;
      connection.dataset.state = state.replace(' ', '-');
      if (state === 'token needed') showTokenForm();
    },
  });

  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ (tokenForm.querySelector('input[name="token"]'));
    const token = input.value.trim();
    if (token === '') return;
    storeToken(token);
    input.value = '';
    tokenForm.hidden = true;
    stream.restart();
    recommendations.start();
  });

  stream.restart();
  recommendations.start();
}

main();
