// A worker thread of the training pool (see pool.ts): loads the digits once,
// then trains each job it is sent and posts back the result.
import { parentPort } from 'worker_threads';
import { loadDigits, trainTestSplit } from './data';
import { runTrainingJob, type TrainingJob } from './training-jobs';

const port = parentPort;
if (port === null) throw new Error('pool-worker.js runs as a worker thread of the demo');
const split = trainTestSplit(loadDigits());
port.on('message', (job: TrainingJob) => port.postMessage(runTrainingJob(split, job)));
