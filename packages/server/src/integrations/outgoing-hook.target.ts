import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { LIMITS } from '@conclave/protocol';
import { AppError } from '../errors.ts';

/**
 * Where an outgoing webhook may send (decision 0020). Only http(s) URLs with a host and no credentials. By
 * default (WEBHOOK_ALLOW_PRIVATE_TARGETS=false) no address that is private, loopback, link-local, shared,
 * multicast or otherwise reserved: room content cannot be aimed at the server's own network or a cloud
 * metadata service (SSRF). The check runs when a hook is made, and again on every connection through the
 * lookup below, so a name that later resolves elsewhere (DNS rebinding) is refused when sent.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

export const isPrivateAddress = (address: string): boolean => {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, 'ipv6');
};

/** A target URL as given: http(s), a host, no user or password, not too long. */
export const parseTarget = (raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('HOOK_TARGET_INVALID');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.username !== '' || url.password !== '' || url.href.length > LIMITS.hookUrlMaxLength) {
    throw new AppError('HOOK_TARGET_INVALID');
  }
  return url;
};

const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

const resolveAll = (host: string): Promise<string[]> =>
  new Promise((resolve, reject) => {
    lookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses.map((a) => a.address))));
  });

/** Refuses a target whose host is, or resolves to, a private address (unless the operator allows them). */
export const assertTargetAllowed = async (url: URL, allowPrivate: boolean): Promise<void> => {
  if (allowPrivate) return;
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    if (isPrivateAddress(host)) throw new AppError('HOOK_TARGET_PRIVATE');
    return;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) throw new AppError('HOOK_TARGET_PRIVATE');
  let addresses: string[];
  try {
    addresses = await resolveAll(host);
  } catch {
    throw new AppError('HOOK_TARGET_INVALID', { message: `The host ${host} does not resolve; check the URL.` });
  }
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) throw new AppError('HOOK_TARGET_PRIVATE');
};

/** The lookup a delivery connects through: the address it connects to is the address checked. */
export const guardedLookup = (allowPrivate: boolean): LookupFunction =>
  (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const list = addresses as unknown as Array<{ address: string; family: number }>;
      const allowed = allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      const first = allowed[0];
      if (!first) return callback(Object.assign(new Error('the target resolves to a private address'), { code: 'EPRIVATE' }), '', 4);
      if (options.all) return (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, allowed);
      return callback(null, first.address, first.family);
    });
  };
