import { createReadStream, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { CmdcmError } from '../../util/errors.js';

/**
 * Opens a log file as a stream of byte chunks, gunzipping when the file starts with the gzip magic
 * bytes (whatever its name says). Missing, empty or non-regular files are one-line CmdcmErrors.
 */
export interface ByteSource {
  chunks: AsyncIterable<Buffer>;
  /** compressed size on disk */
  size: number;
  gzip: boolean;
  /** bytes read from disk so far (compressed), for progress */
  readonly bytesRead: () => number;
}

const CHUNK = 1 << 20;

export async function openLog(file: string): Promise<ByteSource> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CmdcmError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${code ?? String(e)})`);
  }
  if (st.isDirectory()) throw new CmdcmError(`${file}: is a directory, expected a log file`);
  if (!st.isFile()) throw new CmdcmError(`${file}: not a regular file`);
  if (st.size === 0) throw new CmdcmError(`${file}: file is empty`);
  const fh = await fsp.open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new CmdcmError(`${file}: cannot open (${e.code ?? e.message})`);
  });
  const magic = Buffer.alloc(2);
  await fh.read(magic, 0, 2, 0);
  await fh.close();
  const gzip = st.size >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const raw = createReadStream(file, { highWaterMark: CHUNK });
  let chunks: AsyncIterable<Buffer> = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: CHUNK });
    raw.on('error', (e) => gunzip.destroy(e));
    raw.pipe(gunzip);
    chunks = wrapGzipErrors(gunzip, file);
  }
  return { chunks, size: st.size, gzip, bytesRead: () => raw.bytesRead };
}

async function* wrapGzipErrors(stream: AsyncIterable<Buffer>, file: string): AsyncIterable<Buffer> {
  try {
    for await (const c of stream) yield c;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code && err.code.startsWith('Z_')) throw new CmdcmError(`${file}: corrupt gzip data (${err.message})`);
    throw e;
  }
}
