import { InMemoryCursorStore } from "../../../src/adapters/memory/in-memory-cursor-store.js";
import { InMemoryForwardBuffer } from "../../../src/adapters/memory/in-memory-forward-buffer.js";
import { cursorStoreContract } from "../../contract/cursor-store.contract.js";
import { forwardBufferContract } from "../../contract/forward-buffer.contract.js";

const cursors = new InMemoryCursorStore();
cursorStoreContract("in-memory", () => cursors);
const forward = new InMemoryForwardBuffer();
forwardBufferContract("in-memory", () => forward);
