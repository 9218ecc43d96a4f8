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
        // Defence in depth: no code logs these, and the secrets test checks the output.
        paths: [
          "password",
          "pass",
          "token",
          "key",
          "seed",
          "authorization",
          "*.password",
          "*.pass",
          "*.token",
          "*.key",
          "*.seed",
          "*.authorization",
        ],
        censor: "[redacted]",
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
