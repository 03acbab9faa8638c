import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CmdcmError } from '../../util/errors.js';

/**
 * The MPI addon's collectives (native/mpi/mpi.cc, built as build/Release/cmdcm_mpi.node where the
 * build found MPI; the main addon never links libmpi), each bounded by a deadline: a collective that
 * does not complete in time asks every rank whether it is alive and fails with an error naming
 * those that did not answer, instead of hanging the job.
 */
export type MpiArray = Float32Array | Int32Array | Float64Array | Uint8Array;
type Outcome = null | { timedOut: true; silent: number[] };

interface MpiAddon {
  mpiInit(): { rank: number; size: number; host: string };
  mpiFinalize(): void;
  mpiAbort(code: number): void;
  mpiAlltoallv(send: MpiArray, sc: Int32Array, sd: Int32Array, recv: MpiArray, rc: Int32Array, rd: Int32Array, timeoutMs: number): Outcome;
  mpiAllgatherv(send: MpiArray, recv: MpiArray, rc: Int32Array, rd: Int32Array, timeoutMs: number): Outcome;
  mpiBcast(buf: MpiArray, root: number, timeoutMs: number): Outcome;
  mpiShard(full: Float32Array, shard: Float32Array, rows: number, dim: number, toShards: boolean, timeoutMs: number): Outcome;
  mpiBarrier(timeoutMs: number): Outcome;
}

export const MPI_INSTALL_HINT =
  'install an MPI (Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin), build cmdcm\'s MPI addon (`npx node-gyp rebuild` in the cmdcm package directory) and launch the ranks with `mpirun -np N cmdcm train ... --transport mpi` (or srun)';

/** Seconds a collective may wait for the other ranks (CMDCM_MPI_TIMEOUT_S; default 300). */
export function collectiveTimeoutS(): number {
  const raw = process.env.CMDCM_MPI_TIMEOUT_S;
  if (raw === undefined || raw === '') return 300;
  const s = Number(raw);
  if (!(s > 0) || !Number.isFinite(s)) throw new CmdcmError(`CMDCM_MPI_TIMEOUT_S: expected a positive number of seconds, got '${raw}'`, { exitCode: 2 });
  return s;
}

let loaded: { addon?: MpiAddon; why?: string } | undefined;

/** The package root: the nearest directory above this file with package.json and native/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = dirname(dir);
  }
  return dir;
}

/** cmdcm_mpi.node, or why not. CMDCM_NO_MPI=1 (or CMDCM_NO_NATIVE=1) ignores a built one. */
function load(): { addon?: MpiAddon; why?: string } {
  if (loaded) return loaded;
  if (process.env.CMDCM_NO_MPI === '1' || process.env.CMDCM_NO_NATIVE === '1') return (loaded = { why: 'this cmdcm was built without MPI (or CMDCM_NO_MPI=1 is set)' });
  const file = join(packageRoot(), 'build', 'Release', 'cmdcm_mpi.node');
  if (!existsSync(file)) return (loaded = { why: `this cmdcm was built without MPI (no ${file})` });
  try {
    return (loaded = { addon: createRequire(import.meta.url)(file) as MpiAddon });
  } catch (e) {
    return (loaded = { why: `${file} failed to load (${(e as Error).message.split('\n')[0]})` });
  }
}

/** Whether the MPI addon is built and loads. */
export function mpiBuilt(): boolean {
  return load().addon !== undefined;
}

/** One process's view of the MPI job: its rank, the job size, and the collectives over all ranks. */
export class MpiWorld {
  readonly rank: number;
  readonly size: number;
  readonly host: string;
  readonly timeoutMs: number;
  /** what the current collective belongs to, for error messages (e.g. 'step 12') */
  phase = 'startup';
  private finalized = false;

  constructor(private readonly a: MpiAddon) {
    const w = a.mpiInit();
    this.rank = w.rank;
    this.size = w.size;
    this.host = w.host;
    this.timeoutMs = collectiveTimeoutS() * 1000;
  }

  private check(what: string, o: Outcome): void {
    if (o === null || o === undefined) return;
    const others = o.silent.filter((r) => r !== this.rank);
    const who = others.length === 0
      ? 'every rank answered a liveness ping, so one is stuck between collectives'
      : `${others.length === 1 ? 'rank' : 'ranks'} ${others.join(', ')} did not answer a liveness ping (dead or hung)`;
    throw new CmdcmError(`MPI rank ${this.rank}: ${what} at ${this.phase} timed out after ${this.timeoutMs / 1000} s; ${who}; the job is stopped and the last checkpoint is kept (CMDCM_MPI_TIMEOUT_S sets the timeout)`);
  }

  alltoallv<T extends MpiArray>(send: T, sc: Int32Array, sd: Int32Array, recv: T, rc: Int32Array, rd: Int32Array, what = 'all-to-all'): void {
    this.check(what, this.a.mpiAlltoallv(send, sc, sd, recv, rc, rd, this.timeoutMs));
  }

  allgatherv<T extends MpiArray>(send: T, recv: T, rc: Int32Array, rd: Int32Array, what = 'all-gather'): void {
    this.check(what, this.a.mpiAllgatherv(send, recv, rc, rd, this.timeoutMs));
  }

  bcast(buf: MpiArray, root = 0, what = 'broadcast'): void {
    this.check(what, this.a.mpiBcast(buf, root, this.timeoutMs));
  }

  /** Rank 0's rows × dim `full` out to the shards (row r → rank r mod size), or every shard back into it. */
  shard(full: Float32Array, shard: Float32Array, rows: number, dim: number, toShards: boolean, what = toShards ? 'table scatter' : 'table gather'): void {
    this.check(what, this.a.mpiShard(full, shard, rows, dim, toShards, this.timeoutMs));
  }

  barrier(what = 'barrier'): void {
    this.check(what, this.a.mpiBarrier(this.timeoutMs));
  }

  /** A JSON value from rank 0 to every rank. */
  bcastJson<T>(value: T | undefined, what: string): T {
    const len = new Int32Array(1);
    let bytes: Uint8Array | undefined;
    if (this.rank === 0) {
      bytes = new TextEncoder().encode(JSON.stringify(value));
      len[0] = bytes.length;
    }
    this.bcast(len, 0, what);
    if (!bytes) bytes = new Uint8Array(len[0]);
    this.bcast(bytes, 0, what);
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  }

  /** Every rank's JSON value, in rank order, on every rank. */
  allgatherJson<T>(value: T, what: string): T[] {
    const N = this.size, one = new Int32Array(N).fill(1), iota = Int32Array.from({ length: N }, (_, u) => u);
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const lens = new Int32Array(N);
    this.allgatherv(Int32Array.of(bytes.length), lens, one, iota, what);
    const displs = new Int32Array(N);
    for (let u = 1; u < N; u++) displs[u] = displs[u - 1] + lens[u - 1];
    const all = new Uint8Array(displs[N - 1] + lens[N - 1]);
    this.allgatherv(bytes, all, lens, displs, what);
    const dec = new TextDecoder();
    return Array.from({ length: N }, (_, u) => JSON.parse(dec.decode(all.subarray(displs[u], displs[u] + lens[u]))) as T);
  }

  /** Collective, after the last step: every rank must call it. */
  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    this.a.mpiFinalize();
  }
}

let world: MpiWorld | undefined;

/**
 * MPI_Init once per process and the world it gives. Fails with what to install when the addon has
 * no MPI.
 */
export function mpiWorld(): MpiWorld {
  if (world) return world;
  const { addon, why } = load();
  if (!addon) throw new CmdcmError(`--transport mpi: ${why}; ${MPI_INSTALL_HINT}`, { exitCode: 2 });
  world = new MpiWorld(addon);
  return world;
}
