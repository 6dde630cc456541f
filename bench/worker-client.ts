// A child process that answers one request line with one response line
// (PyTorch in Python, TensorFlow.js in Node, the C limits program). The
// driver sends one request at a time and awaits the answer, so peers in other
// processes run one after another, never at the same time as each other or
// as the in-process peers. A dead child rejects what is pending with the
// tail of its stderr; the next cell starts it again.
import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { pinning } from './affinity';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface WorkerOptions {
  env?: NodeJS.ProcessEnv;
  /** The response in a stdout line, or undefined for lines that are not responses (banners). */
  parse(line: string): unknown | undefined;
  /** Milliseconds before a request is given up and the child killed. */
  timeoutMs?: number;
}

export class LineWorker {
  private child: ChildProcess | undefined;
  /** Requests sent to the current child, oldest first (each child has its own list). */
  private pending: Pending[] = [];
  private stderrTail = '';

  constructor(
    readonly name: string,
    private readonly argv: string[],
    private readonly options: WorkerOptions,
  ) {}

  get alive(): boolean {
    const c = this.child;
    return c !== undefined && !c.killed && c.exitCode === null && c.signalCode === null;
  }

  /** The running child's process id. */
  get pid(): number | undefined {
    return this.alive ? this.child!.pid : undefined;
  }

  private start(): ChildProcess {
    const argv = pinning.spawnArgv(this.argv);
    const child = spawn(argv[0], argv.slice(1), {
      env: this.options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.stderrTail = '';
    const pending: Pending[] = (this.pending = []);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const response = this.options.parse(line);
      if (response === undefined) return;
      const p = pending.shift();
      if (p) {
        clearTimeout(p.timer);
        p.resolve(response);
      }
    });
    const fail = (why: string) => {
      const err = new Error(`${this.name} ${why}${this.stderrTail ? `: ${lastLines(this.stderrTail)}` : ''}`);
      for (const p of pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(err);
      }
    };
    child.on('error', (e) => fail(`could not start (${e.message})`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    child.stdin!.on('error', () => undefined); // EPIPE after a crash: reported by 'exit'
    this.child = child;
    return child;
  }

  /** Sends one line (started on demand) and resolves with the parsed response. */
  request(line: string): Promise<unknown> {
    const child = this.alive ? this.child! : this.start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
      }, this.options.timeoutMs ?? 600_000);
      this.pending.push({ resolve, reject, timer });
      child.stdin!.write(line.endsWith('\n') ? line : `${line}\n`);
    });
  }

  /** Kills the child (a later request starts a new one). */
  kill(): void {
    if (this.alive) this.child!.kill('SIGKILL');
  }

  /** Asks the child to quit (closing its stdin), killing it if it lingers. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 3000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin!.end();
    });
  }
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' | ').slice(-600);
}

/** Lines "@@bench {json}" carry the responses of JSON workers; anything else is a banner. */
export function parseTagged(line: string): unknown | undefined {
  return line.startsWith('@@bench ') ? JSON.parse(line.slice(8)) : undefined;
}

/** A JSON worker's response, or an Error carrying its message. */
export async function ask<T = Record<string, unknown>>(w: LineWorker, request: Record<string, unknown>): Promise<T> {
  const r = (await w.request(JSON.stringify(request))) as { error?: string };
  if (r && typeof r === 'object' && typeof r.error === 'string') throw new Error(r.error);
  return r as T;
}

/**
 * The environment of a child that runs OpenMP threads (PyTorch, the C limits):
 * idle threads sleep at once instead of spinning. On a machine with few
 * cores, threads spinning in one process after its sample would steal the
 * cores of the next peer's sample.
 */
export function quietThreadsEnv(): NodeJS.ProcessEnv {
  return { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', GOMP_SPINCOUNT: '0' };
}
