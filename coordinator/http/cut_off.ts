import http2 from "node:http2";
import type { connectNodeAdapter } from "@connectrpc/connect-node";

type NodeResponse = Parameters<ReturnType<typeof connectNodeAdapter>>[1];

/**
 * Ends an answer at once, without its end: over HTTP/2 its stream is reset
 * (CANCEL; the connection's other streams go on), over HTTP/1.1 the
 * connection is closed. (Destroying an HTTP/2 response whose reader grants
 * no window sends nothing the reader sees.)
 */
export function cutOff(res: NodeResponse): void {
  if ("stream" in res) res.stream.close(http2.constants.NGHTTP2_CANCEL);
  else res.destroy();
}
