import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Sm2VerifyTask } from './signature-worker.js';

/**
 * Worker threads for SM2 verification, which costs milliseconds of pure JavaScript (bench/signatures.ts)
 * and would otherwise stall every other request on the event loop (decision 0027). Started at the
 * first task, so a process that never sees an SM2 signature starts no thread; `close()` ends them.
 */
export interface SignaturePool {
  verifySm2(task: Sm2VerifyTask): Promise<boolean>;
  close(): Promise<void>;
  /** Threads running now (0 before the first task and after close). */
  threads(): number;
}

export const defaultPoolThreads = () => Math.max(1, availableParallelism() - 1);

/** Running from source (tsx, vitest) the worker is TypeScript and the thread needs the tsx loader. */
function workerFile(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    filename: new URL(`./signature-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

export function createSignaturePool(
  options: { threads?: number; maxQueue?: number; idleTimeoutMs?: number } = {},
): SignaturePool {
  const threads = options.threads ?? defaultPoolThreads();
  let pool: Piscina | null = null;
  let closed = false;
  const start = () => {
    const { filename, execArgv } = workerFile();
    return new Piscina({
      filename,
      execArgv,
      minThreads: 0,
      maxThreads: threads,
      // A bounded queue: past it a verification is refused (the caller answers 503) instead of
      // letting a flood of SM2 requests grow memory without limit.
      maxQueue: options.maxQueue ?? 1024,
      idleTimeout: options.idleTimeoutMs ?? 30_000,
    });
  };
  return {
    verifySm2(task) {
      if (closed) return Promise.reject(new Error('the signature pool is closed'));
      pool ??= start();
      return pool.run(task) as Promise<boolean>;
    },
    async close() {
      closed = true;
      const p = pool;
      pool = null;
      await p?.destroy();
    },
    threads: () => pool?.threads.length ?? 0,
  };
}
