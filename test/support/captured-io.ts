import { Writable } from 'node:stream';

/** A stream that keeps what is written to it, synchronously, as text. */
function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

/** The streams a command writes to, kept as text: what a test reads back. */
export function capturedIo(): {
  io: { stdout: Writable; stderr: Writable };
  stdout: () => string;
  stderr: () => string;
} {
  const out = capture();
  const err = capture();
  return { io: { stdout: out.stream, stderr: err.stream }, stdout: out.text, stderr: err.text };
}
