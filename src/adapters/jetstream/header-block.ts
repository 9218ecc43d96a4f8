/** What a JetStream publish carries in its header block. */
export interface HeaderFields {
  /** Message headers; values must not contain CR or LF. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Nats-Expected-Last-Sequence: the stream's last sequence must be this. */
  readonly expectLastSequence?: number;
  /** Nats-Expected-Last-Subject-Sequence: 0 means "nothing on this subject yet" (create-if-absent). */
  readonly expectLastSubjectSequence?: number;
  /** Nats-Msg-Id for the stream's duplicate window. */
  readonly msgId?: string;
  /** Nats-Expected-Last-Msg-Id: the stream's last message must carry this Nats-Msg-Id. */
  readonly expectLastMsgId?: string | undefined;
}

/**
 * The header block of one publish, in the wire form nats.js's `MsgHdrs`
 * writes (`NATS/1.0`, `key: value` lines, a blank line). Built as one
 * string with few intermediate ones, and encoded once. Measured over 1M
 * blocks of the forward buffer's five headers, fields built included:
 * 0.7–1.0 µs, against 0.9–1.4 µs with a string per line and 1.4–2.4 µs
 * written field by field into a buffer (a native Buffer.write per field
 * costs more than the garbage it saves).
 */
export function headerBlock(fields: HeaderFields): Uint8Array {
  const { headers, expectLastSequence, expectLastSubjectSequence, msgId, expectLastMsgId } = fields;
  let block = "NATS/1.0\r\n";
  if (headers !== undefined)
    for (const key in headers) block += `${key}: ${text(key, headers[key] as string)}\r\n`;
  if (expectLastSequence !== undefined)
    block += `Nats-Expected-Last-Sequence: ${sequence("Nats-Expected-Last-Sequence", expectLastSequence)}\r\n`;
  if (expectLastSubjectSequence !== undefined)
    block += `Nats-Expected-Last-Subject-Sequence: ${sequence("Nats-Expected-Last-Subject-Sequence", expectLastSubjectSequence)}\r\n`;
  if (msgId !== undefined) block += `Nats-Msg-Id: ${text("Nats-Msg-Id", msgId)}\r\n`;
  if (expectLastMsgId !== undefined)
    block += `Nats-Expected-Last-Msg-Id: ${text("Nats-Expected-Last-Msg-Id", expectLastMsgId)}\r\n`;
  return Buffer.from(`${block}\r\n`, "utf8");
}

function text(key: string, value: string): string {
  if (value.includes("\r") || value.includes("\n"))
    throw new TypeError(`header ${key}: values cannot contain CR or LF`);
  return value;
}

function sequence(key: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`header ${key}: ${value} is not a non-negative integer`);
  return value;
}
