import { Code, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../ports/logger.js";
import { codeName, toConnectError } from "./error-mapping.js";
import { principalKey } from "./principal.js";

const SERVER_SIDE = new Set<Code>([Code.Internal, Code.Unavailable, Code.Unknown, Code.DataLoss]);

/**
 * One log line per RPC outcome: procedure, code, duration, principal — never
 * payloads. Also the last line of defence that turns any thrown value into a
 * ConnectError, so an unexpected failure reaches the client as `internal`
 * without its internals while the cause is logged here. A streaming response
 * is judged when its last message is sent, not when its handler starts.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const line = () => ({
      procedure: req.method.name,
      principal: req.contextValues.get(principalKey),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    const succeeded = () => logger.info({ ...line(), code: "ok" }, "rpc");
    const failed = (error: unknown) => {
      const connectError = toConnectError(error);
      const fields = { ...line(), code: codeName(connectError.code), error: connectError.rawMessage };
      if (SERVER_SIDE.has(connectError.code))
        logger.warn({ ...fields, err: connectError.cause ?? error }, "rpc");
      else logger.info(fields, "rpc");
      return connectError;
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      throw failed(error);
    }
    if (!res.stream) {
      succeeded();
      return res;
    }
    const messages = res.message;
    async function* logged() {
      let outcome: "ok" | "failed" | undefined;
      try {
        yield* messages;
        outcome = "ok";
        succeeded();
      } catch (error) {
        outcome = "failed";
        throw failed(error);
      } finally {
        // The client went away mid-stream.
        if (outcome === undefined) logger.info({ ...line(), code: "canceled" }, "rpc");
      }
    }
    return { ...res, message: logged() };
  };
}
