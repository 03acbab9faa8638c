import { loadAddon } from '../../native.js';
import { CmdcmError } from '../../util/errors.js';

/**
 * The addon's MPI collectives (native/parallel/mpi.cc), each bounded by a deadline: a collective
 * that does not complete in time asks every rank whether it is alive and fails with an error naming
 * those that did not answer, instead of hanging the job.
 */
export type MpiArray = Float32Array | Int32Array | Float64Array | Uint8Array;
type Outcome = null | { timedOut: true; silent: number[] };

interface MpiAddon {
  mpiBuilt(): boolean;
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
  'install an MPI (Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin), rebuild the addon (`npm rebuild cmdcm`, or `npx node-gyp rebuild` in a checkout) and launch the ranks with `mpirun -np N cmdcm train ... --transport mpi` (or srun)';

/** Seconds a collective may wait for the other ranks (CMDCM_MPI_TIMEOUT_S; default 300). */
export function collectiveTimeoutS(): number {
  const raw = process.env.CMDCM_MPI_TIMEOUT_S;
  if (raw === undefined || raw === '') return 300;
  const s = Number(raw);
  if (!(s > 0) || !Number.isFinite(s)) throw new CmdcmError(`CMDCM_MPI_TIMEOUT_S: expected a positive number of seconds, got '${raw}'`, { exitCode: 2 });
  return s;
}

/** Whether this cmdcm's addon was built with MPI. */
export function mpiBuilt(): boolean {
  const a = loadAddon() as unknown as Partial<MpiAddon> | undefined;
  return Boolean(a && typeof a.mpiBuilt === 'function' && a.mpiBuilt() && typeof a.mpiInit === 'function');
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
  const a = loadAddon() as unknown as Partial<MpiAddon> | undefined;
  if (!a) throw new CmdcmError(`--transport mpi needs the native addon, which is not available; ${MPI_INSTALL_HINT}`, { exitCode: 2 });
  if (!mpiBuilt()) throw new CmdcmError(`--transport mpi: this cmdcm's addon was built without MPI; ${MPI_INSTALL_HINT}`, { exitCode: 2 });
  world = new MpiWorld(a as MpiAddon);
  return world;
}
