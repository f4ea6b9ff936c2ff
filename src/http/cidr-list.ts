import { BlockList, isIP } from 'node:net';
import { OptionsError } from '../errors.js';

/**
 * The canonical text of an IP address, or null when `text` is not one. Strips an IPv6 zone (`fe80::1%eth0`) and
 * brackets (`[::1]`), and turns IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) into plain IPv4, which is how
 * a dual-stack server reports IPv4 peers.
 */
export function normalizeIpAddress(text: string): string | null {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return null;
  return mappedIpv4(address) ?? address.toLowerCase();
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:0:0/96`), or null. `address` is valid IPv6. */
function mappedIpv4(address: string): string | null {
  const groups = ipv6Groups(address);
  if (groups === null || groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff) return null;
  const high = groups[6] ?? 0;
  const low = groups[7] ?? 0;
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The eight 16-bit groups of a valid IPv6 address (with or without an embedded IPv4 tail). */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (isIP(last) === 4) {
    // Rewrite the dotted tail as two hex groups: ::ffff:127.0.0.1 -> ::ffff:7f00:1.
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null;
}

/** A parsed CIDR block. */
interface CidrBlock {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `fc00::/7`, `::ffff:10.0.0.0/104` or a bare address (a single host); null when malformed. */
export function parseCidr(text: string): CidrBlock | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  if (addressText.includes('%')) return null;
  const raw = addressText.trim();
  const family = isIP(raw);
  if (family === 0) return null;
  let prefix = family === 4 ? 32 : 128;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > (family === 4 ? 32 : 128)) return null;
  }
  if (family === 6) {
    const mapped = mappedIpv4(raw);
    // ::ffff:a.b.c.d/n with n >= 96 is the IPv4 block a.b.c.d/(n - 96): peers are compared as IPv4.
    if (mapped !== null && prefix >= 96) return { network: mapped, prefix: prefix - 96, family: 'ipv4' };
    return { network: raw.toLowerCase(), prefix, family: 'ipv6' };
  }
  return { network: raw, prefix, family: 'ipv4' };
}

/**
 * A list of CIDR blocks (IPv4 and IPv6) that addresses are matched against. Built once at setup: a malformed entry
 * throws an OptionsError naming it (`allowlist[2]`).
 */
export class CidrList {
  /** The blocks as given, for messages and docs. */
  readonly entries: readonly string[];
  // One list per family: BlockList would otherwise match IPv4 peers against IPv6 blocks holding ::ffff:0:0/96 (::/0).
  readonly #ipv4 = new BlockList();
  readonly #ipv6 = new BlockList();

  constructor(option: string, entries: unknown) {
    if (!Array.isArray(entries)) {
      throw new OptionsError(option, entries, "an array of CIDR blocks or addresses, e.g. ['10.0.0.0/8', 'fd00::/8', '203.0.113.7']");
    }
    entries.forEach((entry: unknown, index) => {
      const block = typeof entry === 'string' ? parseCidr(entry) : null;
      if (block === null) {
        throw new OptionsError(
          `${option}[${index}]`,
          entry,
          "a CIDR block or an IP address such as '10.0.0.0/8', '192.168.1.7', 'fd00::/8' or '::1' (prefix 0-32 for IPv4, 0-128 for IPv6)",
        );
      }
      if (block.family === 'ipv4') this.#ipv4.addSubnet(block.network, block.prefix, 'ipv4');
      else this.#ipv6.addSubnet(block.network, block.prefix, 'ipv6');
    });
    this.entries = Object.freeze([...(entries as string[])]);
  }

  /** True when `address` (any form normalizeIpAddress accepts) is inside one of the blocks. */
  has(address: string | null | undefined): boolean {
    if (address === null || address === undefined) return false;
    const normalized = normalizeIpAddress(address);
    if (normalized === null) return false;
    return isIP(normalized) === 4 ? this.#ipv4.check(normalized, 'ipv4') : this.#ipv6.check(normalized, 'ipv6');
  }
}
