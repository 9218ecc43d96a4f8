import { Code, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../ports/logger.js";
import { codeName, toConnectError } from "./error-mapping.js";
import { principalKey } from "./principal.js";

const SERVER_SIDE = new Set<Code>([Code.Internal, Code.Unavailable, Code.Unknown, Code.DataLoss]);

/**
 * One log line per RPC outcome: procedure, code, duration, principal — never
 * payloads. Also the last line of defence that turns any thrown value into a
 * ConnectError, so an unexpected failure reaches the client as `internal`
 * without its internals while the cause is logged here.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const line = () => ({
      procedure: req.method.name,
      principal: req.contextValues.get(principalKey),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    try {
      const res = await next(req);
      logger.info({ ...line(), code: "ok" }, "rpc");
      return res;
    } catch (error) {
      const connectError = toConnectError(error);
      const fields = { ...line(), code: codeName(connectError.code), error: connectError.rawMessage };
      if (SERVER_SIDE.has(connectError.code))
        logger.warn({ ...fields, err: connectError.cause ?? error }, "rpc");
      else logger.info(fields, "rpc");
      throw connectError;
    }
  };
}
