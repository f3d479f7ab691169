// Progress display: a bar on a terminal (cli-progress), plain lines otherwise (CI logs).
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number): void;
  cell(label: string): void;
  tick(): void;
  log(message: string): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    let done = 0;
    let total = 0;
    return {
      start: (t) => void (total = t),
      cell: (label) => stream.write(`[${done + 1}/${total}] ${label}\n`),
      tick: () => void done++,
      log: (m) => stream.write(`${m}\n`),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {value}/{total} cells | {eta_formatted} left | {label}', hideCursor: true, stream, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (t) => bar.start(t, 0, { label: '' }),
    cell: (label) => bar.update({ label }),
    tick: () => bar.increment(),
    // Print above the bar: clear the line, write, let the bar redraw.
    log: (m) => {
      stream.write(`\r\x1b[K${m}\n`);
      bar.render();
    },
    stop: () => bar.stop(),
  };
}
