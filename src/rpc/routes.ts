import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { ConnectRouter, MethodImpl } from "@connectrpc/connect";
import { BoundaryService } from "../gen/bsfg/v1/boundary_pb.js";
import { APPEND_FACTS_VIEW } from "./append-facts-view.js";
import type { BoundaryHandlers } from "./boundary-service.js";

/** connect-es's router, and a second reading of a unary method's binary requests. */
export interface NodeRouter extends ConnectRouter {
  /**
   * Serves the binary protobuf requests of a method already routed with
   * `implementation`, given `method`: the same path and wire, read as a view
   * type. JSON requests stay with the route.
   */
  binaryView<M extends DescMethodUnary>(method: M, implementation: MethodImpl<M>): NodeRouter;
}

export function createRoutes(handlers: BoundaryHandlers) {
  return (router: NodeRouter): void => {
    router.service(BoundaryService, handlers.service);
    router.binaryView(APPEND_FACTS_VIEW, handlers.appendFactsView);
  };
}
