import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { BoundaryService } from "../gen/bsfg/v1/boundary_pb.js";

export function createRoutes(service: Partial<ServiceImpl<typeof BoundaryService>>) {
  return (router: ConnectRouter): void => {
    router.service(BoundaryService, service);
  };
}
