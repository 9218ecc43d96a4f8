import { type DestinationStream, type Logger as PinoLogger, pino } from "pino";

export interface LoggerOptions {
  readonly zone: string;
  readonly level: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

/** The root JSON logger; secrets never reach it because config keeps only file paths. */
export function createLogger(options: LoggerOptions): PinoLogger {
  return pino(
    {
      level: options.level,
      base: { zone: options.zone },
      redact: {
        paths: ["password", "pass", "token", "key", "*.password", "*.token", "*.key"],
        censor: "[redacted]",
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
