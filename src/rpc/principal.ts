import { createContextKey } from "@connectrpc/connect";

/** The verified identity of the caller's client certificate (CN or URI SAN, per config). */
export const principalKey = createContextKey<string>("", { description: "bsfg principal" });
