import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** RECARD_BENCH_CHILD_LOG: a file that receives every child's output (e.g. with --trace-gc). */
const CHILD_LOG = process.env.RECARD_BENCH_CHILD_LOG;

/** Processes the benchmarks started; stopped at the end of a run. */
export const children: ChildProcess[] = [];

/** Starts `node <args>` and resolves with the first capture of `ready` in its output. */
/**
 * Rate limits no bench reaches: a bench measures the server's work, and its 100 connections from one
 * address would meet the production defaults (100/s per channel, 10/s per address) at once.
 */
export const BENCH_LIMITS = {
  RECARD_CHANNEL_RATE: '1000000',
  RECARD_CHANNEL_BURST: '10000000',
  RECARD_IP_RATE: '1000000',
  RECARD_IP_BURST: '10000000',
};

export function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...BENCH_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      if (CHILD_LOG) appendFileSync(CHILD_LOG, d);
      if (out.length > 100_000) out = out.slice(-10_000);
      out += d;
      const m = ready.exec(out);
      if (m) resolve(m[1] ?? '');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`process exited with ${code}: ${out.slice(-2000)}`)));
  });
}

/** A channel made with the CLI (as an operator would), with its id and API secret. */
export function createBenchChannel(
  env: NodeJS.ProcessEnv,
  signTypes = 'HMAC-SHA256',
): { channelId: string; secret: string } {
  const created = execFileSync(
    process.execPath,
    [
      'bin/recard.js',
      'channels',
      'create',
      '--name',
      'bench',
      // The kind with no per-order limits or required fields by default, settled T+0: what the
      // benches measured before kinds had policies.
      '--kind',
      'h5',
      '--sign-types',
      signTypes,
    ],
    { env: { ...process.env, ...env } },
  ).toString();
  return {
    channelId: /channel id:\s+(\S+)/.exec(created)?.[1] ?? '',
    secret: /channel secret:\s+(\S+)/.exec(created)?.[1] ?? '',
  };
}
