import { InMemoryStoreBuffer } from "../../../src/adapters/memory/in-memory-store-buffer.js";
import { storeBufferContract } from "../../contract/store-buffer.contract.js";

storeBufferContract("in-memory", () => new InMemoryStoreBuffer(["operational", "audit"]));
