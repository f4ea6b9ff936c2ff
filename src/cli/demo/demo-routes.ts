import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { DEMO_ENDPOINTS } from './demo-endpoints.js';
import { checkout, exportOrders, lookupCustomer } from './demo-leak-sites.js';
import { latestOrders, salesReport } from './demo-order-queries.js';

/** The demo app's HTTP routing: each GET path to its handler, errors as JSON (503 when the pool is exhausted). */
export async function routeDemoRequest(pool: pg.Pool, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo.invalid');
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'only GET' });
    switch (url.pathname) {
      case '/':
        return send(res, 200, { endpoints: DEMO_ENDPOINTS.map(({ path, kind, description }) => ({ path, kind, description })) });
      case '/api/orders':
        return send(res, 200, { orders: await latestOrders(pool) });
      case '/api/report':
        return send(res, 200, await salesReport(pool));
      case '/api/orders/export':
        return send(res, 200, await exportOrders(pool));
      case '/api/customers/lookup': {
        const answer = await lookupCustomer(pool, url.searchParams.get('name') ?? '');
        return send(res, answer.status, answer.body);
      }
      case '/api/orders/checkout':
        return send(res, 200, await checkout(pool));
      default:
        return send(res, 404, { error: `no route ${url.pathname}; try GET /` });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    // pg's acquire timeout: the pool is exhausted (poolscope appended who holds the connections to the message).
    const status = error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message) ? 503 : 500;
    return send(res, status, { error: message });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
