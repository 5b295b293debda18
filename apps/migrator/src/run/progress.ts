/** Progress of a long step: a line on stderr at most once a second (a bar with rate and ETA on a TTY). */
export class Progress {
  private readonly started = Date.now();
  private lastPrint = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private total: number,
    private readonly quiet = false,
  ) {}

  setTotal(total: number): void {
    this.total = total;
  }

  add(n: number): void {
    this.done += n;
    const now = Date.now();
    if (now - this.lastPrint >= 1000) {
      this.lastPrint = now;
      this.print();
    }
  }

  rate(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  finish(): void {
    this.print();
    if (!this.quiet && process.stderr.isTTY) process.stderr.write('\n');
  }

  private print(): void {
    if (this.quiet) return;
    const rate = this.rate();
    const pct = this.total > 0 ? Math.min(100, (this.done / this.total) * 100) : 100;
    const eta = rate > 0 && this.total > this.done ? `${Math.ceil((this.total - this.done) / rate)}s` : '0s';
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${this.label} ${bar} ${this.done}/${this.total} (${pct.toFixed(0)}%) ${rate.toFixed(0)}/s ETA ${eta}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
    else process.stderr.write(`${line}\n`);
  }
}
