import { createHash, timingSafeEqual } from 'node:crypto';
import { OptionsError } from '../errors.js';
import { CidrList, normalizeIpAddress } from './cidr-list.js';
import type { OpsRequestHeaders } from './ops-request.js';
import { headerOf } from './ops-request.js';

/** Who may call the restricted ops routes (every route but `/health`). All optional. */
export interface OpsAccessOptions {
  /**
   * Client addresses allowed without a token: CIDR blocks or single addresses, IPv4 and IPv6 (IPv4-mapped IPv6
   * peers such as `::ffff:10.1.2.3` match IPv4 blocks). Default DEFAULT_OPS_ALLOWLIST: loopback and private ranges.
   * `[]` allows no address, so only the token opens the routes.
   */
  readonly allowlist?: readonly string[];
  /**
   * A bearer token that opens the restricted routes from any address: `Authorization: Bearer <token>`. Compared in
   * constant time. Printable ASCII without spaces; use a long random one (`openssl rand -hex 32`).
   */
  readonly token?: string;
  /**
   * Proxies whose `X-Forwarded-For` is believed (CIDR blocks or addresses). When the direct peer is one of them, the
   * client is the right-most X-Forwarded-For entry that is not itself a trusted proxy. Default `[]`: the header is
   * ignored and the client is the socket's peer.
   */
  readonly trustedProxies?: readonly string[];
}

/** Loopback and private ranges (RFC 1918, RFC 4193 unique local). */
export const DEFAULT_OPS_ALLOWLIST: readonly string[] = Object.freeze([
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
]);

/** What the access check decided, and on what grounds. */
export interface OpsAccessDecision {
  readonly allowed: boolean;
  /** The client address the decision used (after trusted-proxy resolution), null when unknown or malformed. */
  readonly clientAddress: string | null;
  /** `allowlist` or `token` when allowed, null when refused. */
  readonly grantedBy: 'allowlist' | 'token' | null;
}

const TOKEN_SHAPE = /^[\x21-\x7e]+$/;
const BEARER = /^bearer +(\S+) *$/i;

/**
 * The access rule of the restricted ops routes: the client's address is in the allowlist, or the request carries the
 * bearer token. Built once at setup; throws OptionsError for a malformed CIDR or an empty token.
 */
export class OpsAccess {
  readonly #allowlist: CidrList;
  readonly #trustedProxies: CidrList;
  readonly #tokenDigest: Buffer | undefined;

  constructor(options: OpsAccessOptions = {}) {
    this.#allowlist = new CidrList('allowlist', options.allowlist ?? DEFAULT_OPS_ALLOWLIST);
    this.#trustedProxies = new CidrList('trustedProxies', options.trustedProxies ?? []);
    const token: unknown = options.token;
    if (token !== undefined) {
      if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) {
        // Never echo a token into a message: it may be the real secret with a stray space.
        const shown = typeof token === 'string' ? `[redacted string of ${token.length} characters]` : token;
        throw new OptionsError(
          'token',
          shown,
          'a non-empty string of printable ASCII without spaces (e.g. from `openssl rand -hex 32`), or no token at all',
        );
      }
      this.#tokenDigest = digest(token);
    }
  }

  /** True when a token is configured. */
  get hasToken(): boolean {
    return this.#tokenDigest !== undefined;
  }

  /**
   * The client's address: the direct peer, unless the peer is a trusted proxy, in which case the right-most
   * `X-Forwarded-For` entry that is not a trusted proxy (or the left-most entry when every one is). Null when the
   * address that decides is missing or malformed.
   */
  clientAddress(remoteAddress: string | undefined, headers: OpsRequestHeaders): string | null {
    const peer = remoteAddress === undefined ? null : normalizeIpAddress(remoteAddress);
    if (peer === null || !this.#trustedProxies.has(peer)) return peer;
    const forwarded = forwardedFor(headers);
    if (forwarded.length === 0) return peer;
    for (let i = forwarded.length - 1; i >= 0; i -= 1) {
      const hop = forwardedAddress(forwarded[i] ?? '');
      // A hop we cannot read ends the walk: whoever wrote it is not trusted, so the client is unknown.
      if (hop === null) return null;
      if (!this.#trustedProxies.has(hop)) return hop;
    }
    return forwardedAddress(forwarded[0] ?? '');
  }

  /** Decides one request. */
  check(remoteAddress: string | undefined, headers: OpsRequestHeaders): OpsAccessDecision {
    const clientAddress = this.clientAddress(remoteAddress, headers);
    if (this.#allowlist.has(clientAddress)) return { allowed: true, clientAddress, grantedBy: 'allowlist' };
    if (this.#tokenMatches(headers)) return { allowed: true, clientAddress, grantedBy: 'token' };
    return { allowed: false, clientAddress, grantedBy: null };
  }

  #tokenMatches(headers: OpsRequestHeaders): boolean {
    const expected = this.#tokenDigest;
    if (expected === undefined) return false;
    const match = BEARER.exec(headerOf(headers, 'authorization') ?? '');
    if (match === null) return false;
    // Equal-length digests: the comparison time depends on neither the token's content nor its length.
    return timingSafeEqual(digest(match[1] ?? ''), expected);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Every X-Forwarded-For entry, left to right, over repeated headers. */
function forwardedFor(headers: OpsRequestHeaders): string[] {
  const value = headers['x-forwarded-for'];
  if (value === undefined) return [];
  const joined = typeof value === 'string' ? value : value.join(',');
  return joined
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The address of one X-Forwarded-For entry: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:443`; null when malformed. */
function forwardedAddress(entry: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (bracketed !== null) return normalizeIpAddress(bracketed[1] ?? '');
  const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(entry);
  if (ipv4WithPort !== null) return normalizeIpAddress(ipv4WithPort[1] ?? '');
  return normalizeIpAddress(entry);
}
