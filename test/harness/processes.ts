import { type ChildProcess, spawn } from 'node:child_process';

/** Starts a TypeScript fixture in its own Node process and resolves once it prints `ready`. */
export async function spawnReady(
  script: string,
  env: NodeJS.ProcessEnv,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => String(d).includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`${script} exited early with ${code}`)));
  });
  return child;
}
