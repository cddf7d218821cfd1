/**
 * The risk replay's issuer simulators on a thread of their own (docs/risk-replay.md#runtime): the
 * same `startSimulators` over the day's cards, answering over HTTP as in the replay's process, but on
 * the machine's second core. Started by replay.ts with `workerData` = StartSimulatorsOptions; posts
 * `{ urls: [issuer, url][] }` once listening and closes them on the message `'close'`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type StartSimulatorsOptions, startSimulators } from '../../src/simulators/index.js';

const port = parentPort;
if (!port) throw new Error('sim-thread.ts runs as a worker thread of replay.ts');
const sims = await startSimulators(workerData as StartSimulatorsOptions);
port.on('message', (message: unknown) => {
  if (message !== 'close') return;
  void sims.close().then(() => port.close());
});
port.postMessage({ urls: [...sims.byIssuer].map(([issuer, sim]) => [issuer, sim.url]) });
