// A prepare worker thread's entry point (see runWorker in shard-writer.ts). It lives in its own module
// because its top-level await would otherwise sit in the library's import graph, and Node refuses
// to `require()` an ES module graph that contains one (ERR_REQUIRE_ASYNC_MODULE).
import { workerData, parentPort } from 'node:worker_threads';
import { buildShards, type WorkerJob } from './shard-writer.js';

const job = workerData as WorkerJob;
const part = await buildShards(job.g, job.cal, job.plan, job.tmp, job.tag, job.shardSize, job.validDays, job.asOf, job.users);
parentPort!.postMessage(part);
