/**
 * `server.trusted_proxies`: the peers (an ingress, a load balancer) whose forwarding headers
 * scopegate believes. Entries are IPv4 or IPv6 addresses or CIDR blocks; an IPv4 peer that
 * arrives as an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, dual-stack listeners) matches its
 * IPv4 entries.
 */
import { BlockList, isIP } from 'node:net';

export type ProxyEntry = { address: string; family: 'ipv4' | 'ipv6'; prefix: number };

/** Parses one entry; undefined when it is neither an address nor a CIDR block. */
export function parseProxyEntry(entry: string): ProxyEntry | undefined {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash === -1) return { address, family, prefix: max };
  const prefixText = entry.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, family, prefix } : undefined;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const text of entries) {
      const entry = parseProxyEntry(text);
      // The config schema has refused anything unparsable already; fail closed regardless.
      if (!entry) throw new Error(`server.trusted_proxies: not an address or CIDR: ${text}`);
      this.list.addSubnet(entry.address, entry.prefix, entry.family);
    }
    this.empty = entries.length === 0;
  }

  /** Whether a connection from `peer` (socket.remoteAddress) comes from a trusted proxy. */
  trusts(peer: string | undefined): boolean {
    if (this.empty || peer === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer)?.[1];
    if (mapped !== undefined && this.list.check(mapped, 'ipv4')) return true;
    const version = isIP(peer);
    if (version === 0) return false;
    return this.list.check(peer, version === 4 ? 'ipv4' : 'ipv6');
  }
}
