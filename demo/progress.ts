// A progress bar per run on stderr. On a terminal it redraws one line in
// place; when stderr is a file or a pipe (CI logs, tests) it prints a plain
// line at the start and one at the end instead, so logs stay readable.

const WIDTH = 30;

export class ProgressBar {
  private readonly started = Date.now();
  private readonly tty: boolean;
  private lastDrawn = 0;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
    if (!this.tty) stream.write(`${label} ...\n`);
    else this.draw(0, '');
  }

  /** `fraction` in [0, 1]; `detail` is shown after the bar (e.g. the latest loss). */
  update(fraction: number, detail = ''): void {
    // Redraw at most 20 times a second: terminals are slow.
    if (!this.tty || Date.now() - this.lastDrawn < 50) return;
    this.draw(fraction, detail);
  }

  /** Completes the bar with a final note. */
  done(detail = ''): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    if (this.tty) {
      this.draw(1, detail);
      this.stream.write('\n');
    } else {
      this.stream.write(`${this.label} done in ${seconds} s ${detail}\n`);
    }
  }

  private draw(fraction: number, detail: string): void {
    this.lastDrawn = Date.now();
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    const percent = `${Math.round(fraction * 100)}`.padStart(3);
    // \x1b[2K clears the line, so a shorter redraw leaves no leftovers.
    this.stream.write(`\r\x1b[2K${this.label} ${bar} ${percent}% ${seconds} s ${detail}`);
  }
}
