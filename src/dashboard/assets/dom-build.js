/**
 * Building DOM nodes from data without ever parsing it as HTML: every string becomes a text node or an attribute
 * value, so nothing a pool, a query or a stack holds can inject markup. Also the few value formats the page shows.
 */

/**
 * Creates an element. `attrs` keys are set as attributes (`class`, `data-*`, `aria-*`, ...); a `false`, `null` or
 * `undefined` value skips the attribute, `true` sets it empty. Children: nodes, or strings and numbers as text.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'object' ? child : String(child));
  }
  return node;
}

/**
 * Sets an element's text only when it changed (keeps selections and avoids needless layout).
 * @param {Element} node
 * @param {string | number} text
 */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

/**
 * A duration for people: `850 ms`, `4.2 s`, `3 min 05 s`, `2 h 07 min`.
 * @param {number | null | undefined} millis
 * @returns {string}
 */
export function formatMillis(millis) {
  if (typeof millis !== 'number' || !Number.isFinite(millis)) return '-';
  if (millis < 1000) return `${Math.round(millis)} ms`;
  const seconds = millis / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * The local wall-clock time of an ISO-8601 string or epoch milliseconds (`14:03:27`).
 * @param {string | number | null | undefined} at
 * @returns {string}
 */
export function formatTime(at) {
  if (at === null || at === undefined) return '-';
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toLocaleTimeString();
}

/**
 * A number, or `-` when absent.
 * @param {unknown} value
 * @returns {string}
 */
export function formatCount(value) {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '-';
}

/**
 * Replaces an element's children, skipping absent ones (replaceChildren would write `null` as text).
 * @param {HTMLElement} node
 * @param {...(Node | null)} children
 */
export function replaceWith(node, ...children) {
  node.replaceChildren(...children.filter((child) => child !== null));
}

/**
 * Replaces a table's head and body.
 * @param {HTMLTableElement} table
 * @param {readonly string[]} headings
 * @param {readonly HTMLElement[]} rows
 * @param {string} emptyText shown in one row when there are none
 */
export function fillTable(table, headings, rows, emptyText) {
  const head = el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col' }, h))));
  const body = el('tbody', {}, ...(rows.length > 0 ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: headings.length }, emptyText))]));
  table.replaceChildren(head, body);
}
