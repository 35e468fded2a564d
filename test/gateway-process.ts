/**
 * The compiled gateway (dist/src/index.js: run `npx tsc -p tsconfig.build.json` first) as a real
 * server process on a loopback port, for the tests that kill it or run several at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const SERVER = path.resolve(__dirname, '../dist/src/index.js');

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
}

/** Starts one process with `env` (rate limits off, no explorer) and resolves once it listens. */
export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, RATE_LIMIT: 'off', ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', EXPLORER: 'false' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.includes('customer-gateway listening')) return;
      clearTimeout(timer);
      resolve({ url: (JSON.parse(line) as { url: string }).url.replace('localhost', '127.0.0.1'), child });
    });
  });
}

/** SIGKILL, as a crash or power loss would stop it: nothing gets to flush or finish. */
export async function killGatewayProcess(gateway: GatewayProcess): Promise<void> {
  const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
  gateway.child.kill('SIGKILL');
  await exited;
}
