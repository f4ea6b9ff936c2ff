import { gzip } from 'node:zlib';
import { HttpRouteError, OptionsError } from '../errors.js';
import type { OpsRequest } from './ops-request.js';
import { headerOf } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { textResponse } from './ops-response.js';

/**
 * Where `GET /metrics` gets the Prometheus exposition: poolscope's `PrometheusExporter`, or a prom-client
 * `Registry` (the same shape).
 */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/**
 * zlib level of a gzip `/metrics` answer: 1, the fastest. On the 4 MB exposition of 1,000 pools, level 1 took about
 * 6 ms for 177 KB on the development machine, zlib's default level 6 about 38 ms for 155 KB: 12% smaller for six
 * times the CPU, on every scrape.
 */
export const METRICS_GZIP_LEVEL = 1;

/** Checks the `metrics` option at setup. */
export function validateMetricsSource(source: unknown): MetricsSource | undefined {
  if (source === undefined) return undefined;
  const candidate = source as Partial<MetricsSource> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.metrics !== 'function' || typeof candidate.contentType !== 'string') {
    throw new OptionsError(
      'metrics',
      source,
      "an object with a contentType string and a metrics() method, e.g. new PrometheusExporter(inspector) from 'poolscope/prometheus' or a prom-client Registry",
    );
  }
  return candidate as MetricsSource;
}

/**
 * `GET /metrics`: the exposition of `source`, with its content type, read at each request (nothing cached). Gzip
 * compressed (`content-encoding: gzip`) when the request's `Accept-Encoding` accepts gzip, as Prometheus's does;
 * plain otherwise. Both answers carry `vary: Accept-Encoding`. Without a source: 404
 * `POOLSCOPE_ERR_HTTP_METRICS_DISABLED` saying how to enable it.
 */
export async function metricsRoute(source: MetricsSource | undefined, request: OpsRequest): Promise<OpsResponse> {
  if (source === undefined) {
    throw new HttpRouteError(
      404,
      'POOLSCOPE_ERR_HTTP_METRICS_DISABLED',
      "Prometheus metrics are not enabled on these ops routes. Pass a source: { metrics: new PrometheusExporter(inspector) } with PrometheusExporter from 'poolscope/prometheus' (needs prom-client), or any prom-client Registry.",
    );
  }
  const text = await source.metrics();
  if (!acceptsGzip(headerOf(request.headers, 'accept-encoding'))) {
    return textResponse(200, source.contentType, text, { vary: 'Accept-Encoding' });
  }
  // A HEAD answer has the headers a GET would have, without compressing a body nobody receives.
  const body = request.method.toUpperCase() === 'HEAD' ? '' : await gzipExposition(text);
  return textResponse(200, source.contentType, body, { 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
}

/** `text` gzip-compressed at METRICS_GZIP_LEVEL, off the main thread (zlib's thread pool). */
export function gzipExposition(text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(text, { level: METRICS_GZIP_LEVEL }, (error, result) => {
      if (error === null) resolve(result);
      else reject(error);
    });
  });
}

/**
 * True when an `Accept-Encoding` value accepts gzip (RFC 9110, 12.5.3): `gzip` or `x-gzip` listed with a q-value
 * above 0, or, when neither is listed, `*` with a q-value above 0. Names are case-insensitive; a malformed q-value
 * counts as 0. No header: false (identity).
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  let gzipQ: number | undefined;
  let anyQ: number | undefined;
  for (const element of acceptEncoding.split(',')) {
    const [coding = '', ...parameters] = element.split(';');
    const name = coding.trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    for (const parameter of parameters) {
      const eq = parameter.indexOf('=');
      if (eq === -1 || parameter.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const value = parameter.slice(eq + 1).trim();
      q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value) ? Number(value) : 0;
    }
    if (name === 'gzip' || name === 'x-gzip') gzipQ = Math.max(gzipQ ?? 0, q);
    else if (name === '*') anyQ = q;
  }
  if (gzipQ !== undefined) return gzipQ > 0;
  return anyQ !== undefined && anyQ > 0;
}
