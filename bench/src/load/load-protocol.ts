/** What the bench asks of a load generator process, and what it reports. */
export interface LoadJob {
  readonly spoolDir: string;
  /** The request as the client would spool it (no passphrase line). */
  readonly requestFile: string;
  /** Concurrent request streams, each one request at a time. */
  readonly streams: number;
  readonly perStream: number;
}

export interface LoadResult {
  /** End-to-end latency of each issued certificate, ms. */
  readonly latenciesMs: number[];
  readonly wallMs: number;
  /** Requests answered with a refusal. */
  readonly failures: number;
}
