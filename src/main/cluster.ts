import cluster, { type Worker } from 'node:cluster';
import { loadSecrets } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../shared/logger.js';
import { openStorage } from '../storage/database.js';
import { migrateToLatest } from '../storage/migrate.js';

/** A process that dies sooner than this after starting counts towards giving up. */
const EARLY_DEATH_MS = 5_000;
/** Early deaths in a row after which the supervisor stops restarting and exits. */
const MAX_EARLY_DEATHS = 5;
const RESTART_DELAY_MS = 1_000;

export interface Supervised {
  /** The address the processes share, once every one listens. */
  url: string;
  pids(): number[];
  /** Resolves when every process has exited (after `stop`, or after giving up on restarts). */
  exited: Promise<number>;
  stop(graceMs: number): Promise<void>;
}

/**
 * `recard serve --processes N`: N API processes on one port with node:cluster. The primary takes no
 * request; it makes the keys and migrates the schema once, so that N processes starting at once do
 * not race to generate keys, forks N copies of this command, restarts one that dies, and on SIGTERM
 * passes the signal on and waits for each to finish its requests and jobs.
 */
export async function superviseApiProcesses(n: number, config: Config, logger: Logger): Promise<Supervised> {
  loadSecrets(config);
  const storage = await openStorage({ url: config.databaseUrl, schema: config.databaseSchema, poolSize: 1 });
  try {
    await migrateToLatest(storage);
  } finally {
    await storage.close();
  }

  const started = new Map<Worker, number>();
  let stopping = false;
  let earlyDeaths = 0;
  let exitCode = 0;
  let resolveExited: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => {
    resolveExited = r;
  });
  const fork = () => started.set(cluster.fork(), Date.now());

  const listening = new Promise<string>((resolve, reject) => {
    const addresses = new Set<Worker>();
    cluster.on('listening', (worker, address) => {
      addresses.add(worker);
      if (addresses.size === n) {
        const host = address.address?.includes(':')
          ? `[${address.address}]`
          : (address.address ?? '127.0.0.1');
        resolve(`http${config.tlsCert ? 's' : ''}://${host}:${address.port}`);
      }
    });
    cluster.on('exit', (worker, code, signal) => {
      const since = started.get(worker) ?? 0;
      started.delete(worker);
      if (stopping) {
        if (started.size === 0) resolveExited(exitCode);
        return;
      }
      earlyDeaths = Date.now() - since < EARLY_DEATH_MS ? earlyDeaths + 1 : 0;
      logger.error({ pid: worker.process.pid, code, signal }, 'an API process died; starting another');
      if (earlyDeaths >= MAX_EARLY_DEATHS) {
        // It dies as it starts (a setting, a port taken): restarting forever would hide it.
        logger.error({ deaths: earlyDeaths }, 'API processes keep dying as they start; giving up');
        stopping = true;
        exitCode = 1;
        reject(new Error('API processes keep dying as they start; see the log'));
        for (const w of started.keys()) w.process.kill('SIGTERM');
        if (started.size === 0) resolveExited(exitCode);
        return;
      }
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS).unref();
    });
  });

  for (let i = 0; i < n; i++) fork();
  const url = await listening;
  return {
    url,
    pids: () => [...started.keys()].map((w) => w.process.pid ?? 0),
    exited,
    async stop(graceMs) {
      stopping = true;
      if (started.size === 0) resolveExited(exitCode);
      for (const w of started.keys()) w.process.kill('SIGTERM');
      // A process still busy after its grace period (and a margin to close) is killed.
      const killer = setTimeout(() => {
        for (const w of started.keys()) w.process.kill('SIGKILL');
      }, graceMs + 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
