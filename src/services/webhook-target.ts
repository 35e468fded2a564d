/**
 * Sending one webhook request without reaching where it must not. The target's name is
 * resolved and every address checked when the request connects (not only when the endpoint is
 * saved), and the connection goes to the checked address, so a name that later resolves to a
 * private address is refused then too. Redirects are not followed; the response body is read
 * up to a cap and discarded, so a receiver cannot make the sender hold much memory.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import dns from 'node:dns';

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface ConnectOptions {
  host: string;
  port: number;
  /** The URL's host name, for TLS (SNI and certificate check). */
  servername: string;
  tls: boolean;
}
export type Connect = (options: ConnectOptions) => net.Socket;

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: loopback and private addresses (and plain http to loopback) allowed. */
  allowPrivateTargets: boolean;
}

export interface TransportOptions extends TargetPolicy {
  resolve?: Resolver;
  connect?: Connect;
  connectTimeoutMs?: number;
  totalTimeoutMs?: number;
  maxResponseBytes?: number;
}

export const CONNECT_TIMEOUT_MS = 5_000;
export const TOTAL_TIMEOUT_MS = 15_000;
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Addresses a webhook may not reach unless private targets are allowed. */
const BLOCKED = (() => {
  const list = new net.BlockList();
  for (const [prefix, bits] of [
    ['0.0.0.0', 8], // "this network", 0.0.0.0
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // carrier-grade NAT
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local, cloud metadata
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, broadcast
  ] as const) {
    list.addSubnet(prefix, bits, 'ipv4');
  }
  for (const [prefix, bits] of [
    ['::', 128],
    ['::1', 128],
    ['64:ff9b::', 96], // NAT64: embeds an IPv4 address
    ['fc00::', 7], // unique local
    ['fe80::', 10], // link-local
    ['ff00::', 8], // multicast
  ] as const) {
    list.addSubnet(prefix, bits, 'ipv6');
  }
  return list;
})();

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Whether `address` (an IP literal) is loopback, private, link-local, multicast or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const mapped = MAPPED_V4.exec(address);
  if (mapped) return isPrivateAddress(mapped[1]);
  const family = net.isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    // IPv4-mapped in hex form (::ffff:7f00:1) is checked as the IPv4 address it carries.
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    if (hex) {
      const value = (parseInt(hex[1], 16) << 16) | parseInt(hex[2], 16);
      return isPrivateAddress([24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.'));
    }
    return BLOCKED.check(address, 'ipv6');
  }
  return true;
}

/** `hostname` as URL gives it: IPv6 in brackets. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost') return true;
  return (net.isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** Why a URL cannot be an endpoint, or null when it can (the address check comes again at connect time). */
export function urlProblem(raw: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.protocol === 'http:') {
    if (!(policy.allowPrivateTargets && isLoopbackHost(url.hostname))) return 'must use https (plain http only to loopback, with WEBHOOK_ALLOW_PRIVATE_TARGETS=true)';
  } else if (url.protocol !== 'https:') {
    return 'must use https';
  }
  const host = bareHost(url.hostname);
  if (!policy.allowPrivateTargets && (host === 'localhost' || (net.isIP(host) !== 0 && isPrivateAddress(host)))) {
    return 'must not point at a loopback or private address';
  }
  return null;
}

export interface TargetResponse {
  /** The status, or null when none came. */
  status: number | null;
  /** Why no response came (or why it was refused). */
  error: string | null;
}

export class RefusedTarget extends Error {}

const defaultResolve: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

const defaultConnect: Connect = (options) =>
  options.tls ? tls.connect({ host: options.host, port: options.port, servername: net.isIP(options.servername) ? undefined : options.servername }) : net.connect({ host: options.host, port: options.port });

/** The address to connect to: every address the name has must be allowed (a mixed answer could be raced). */
async function checkedAddress(hostname: string, policy: TransportOptions): Promise<string> {
  const host = bareHost(hostname);
  const addresses = net.isIP(host) ? [{ address: host, family: net.isIP(host) }] : await (policy.resolve ?? defaultResolve)(host);
  if (addresses.length === 0) throw new RefusedTarget(`${host} has no address`);
  if (!policy.allowPrivateTargets) {
    const blocked = addresses.find((entry) => isPrivateAddress(entry.address));
    if (blocked) throw new RefusedTarget(`${host} resolves to ${blocked.address}, a loopback or private address`);
  }
  return addresses[0].address;
}

/** POSTs `body` to `rawUrl`; never throws: a refusal, timeout or network error comes back as `error`. */
export async function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, options: TransportOptions): Promise<TargetResponse> {
  const problem = urlProblem(rawUrl, options);
  if (problem) return { status: null, error: `refused: the URL ${problem}` };
  const url = new URL(rawUrl);
  let address: string;
  try {
    address = await checkedAddress(url.hostname, options);
  } catch (error) {
    return { status: null, error: error instanceof RefusedTarget ? `refused: ${error.message}` : `no address for ${url.hostname}: ${(error as Error).message}` };
  }
  const secure = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const connect = options.connect ?? defaultConnect;
  const maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  return new Promise<TargetResponse>((resolve) => {
    let settled = false;
    const finish = (result: TargetResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connecting);
      request.destroy();
      resolve(result);
    };
    const total = setTimeout(() => finish({ status: null, error: `no complete response within ${options.totalTimeoutMs ?? TOTAL_TIMEOUT_MS} ms` }), options.totalTimeoutMs ?? TOTAL_TIMEOUT_MS);
    let connecting: NodeJS.Timeout | undefined;
    const request = http.request({
      method: 'POST',
      host: address,
      port,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, host: url.host, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'customer-gateway-webhooks' },
      createConnection: () => {
        const socket = connect({ host: address, port, servername: bareHost(url.hostname), tls: secure });
        connecting = setTimeout(() => finish({ status: null, error: `could not connect within ${options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS} ms` }), options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connecting));
        return socket;
      },
    });
    request.on('error', (error) => finish({ status: null, error: error.message }));
    request.on('response', (response) => {
      let read = 0;
      const status = response.statusCode ?? null;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // The status is what counts; past the cap the rest of the body is not worth waiting for.
        if (read > maxBytes) finish({ status, error: null });
      });
      response.on('end', () => finish({ status, error: null }));
      response.on('error', () => finish({ status, error: null }));
    });
    request.end(body);
  });
}
