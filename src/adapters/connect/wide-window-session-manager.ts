import type http2 from "node:http2";
import {
  type ConnectTransportOptions,
  Http2SessionManager,
  type Http2SessionOptions,
} from "@connectrpc/connect-node";

type SessionManager = NonNullable<Extract<ConnectTransportOptions, { httpVersion: "2" }>["sessionManager"]>;

const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * connect-node's session manager with a large HTTP/2 connection-level
 * receive window. Node leaves it at the protocol's 64 KiB, which caps a
 * streamed download at one window per event-loop turn of the receiver; the
 * stream-level window is raised through the `initialWindowSize` setting.
 */
export function createWideWindowSessionManager(
  url: string,
  options: http2.SecureClientSessionOptions,
  ping: Http2SessionOptions = {},
): SessionManager {
  const inner = new Http2SessionManager(url, ping, {
    ...options,
    settings: { initialWindowSize: 4 * 1024 * 1024 },
  });
  const widened = new WeakSet<http2.ClientHttp2Session>();
  return {
    authority: inner.authority,
    async request(method, path, headers, requestOptions) {
      const stream = await inner.request(method, path, headers, requestOptions);
      const session = stream.session as http2.ClientHttp2Session;
      if (!widened.has(session)) {
        widened.add(session);
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
        // connect-node destroys a connection that gets GOAWAY with no open streams;
        // Node raises that error when the socket has closed, and if the manager has
        // moved to a new connection by then its listeners are gone and the error
        // would crash the node (connect-es#1768). The manager has already acted on it.
        session.on("error", () => {});
      }
      return stream;
    },
    notifyResponseByteRead(stream) {
      inner.notifyResponseByteRead(stream);
    },
  };
}
