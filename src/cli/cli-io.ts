/** What a command may touch of the outside world; main.ts passes the process's. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves with the name of the first termination signal received (SIGTERM, SIGINT). */
  readonly terminationSignal: () => Promise<string>;
  /** Whether stdout is a terminal (progress bars, colours). */
  readonly isTty: boolean;
  /** Calls `handler` on every reload request (SIGHUP). */
  readonly onReload?: (handler: () => void) => void;
  /** The terminal stream progress bars draw on (stderr), when it is one. */
  readonly terminal?: NodeJS.WriteStream;
}
