// A worker thread of the sweep (see sweep-pool.ts): loads the digits once,
// then trains each run it is sent and posts back the result.
import { parentPort } from 'worker_threads';
import { loadDigits, trainTestSplit } from './data';
import { runSweepJob, type SweepJob } from './sweep';

const port = parentPort;
if (port === null) throw new Error('sweep-worker.js runs as a worker thread of the demo');
const split = trainTestSplit(loadDigits());
port.on('message', (job: SweepJob) => port.postMessage(runSweepJob(split, job)));
