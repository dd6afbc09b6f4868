/** Bounds-checked reader over one message body; any overrun throws MalformedMessageError. */

/** A message whose body does not match its type's format. */
export class MalformedMessageError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'MalformedMessageError';
  }
}

/** Sequential field reader used by the decoders. Never reads past the body. */
export class BodyReader {
  private offset = 0;

  constructor(
    private readonly body: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.body.length - this.offset;
  }

  int8(): number {
    this.need(1);
    const v = this.body[this.offset]!;
    this.offset += 1;
    return v;
  }

  int16(): number {
    this.need(2);
    const v = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    if (end === -1) throw new MalformedMessageError(`${this.what}: unterminated string`);
    const v = this.body.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return v;
  }

  bytes(length: number): Buffer {
    if (length < 0) throw new MalformedMessageError(`${this.what}: negative length`);
    this.need(length);
    const v = this.body.subarray(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }

  rest(): Buffer {
    const v = this.body.subarray(this.offset);
    this.offset = this.body.length;
    return v;
  }

  /** Asserts the whole body was consumed. */
  end(): void {
    if (this.offset !== this.body.length) throw new MalformedMessageError(`${this.what}: trailing bytes`);
  }

  private need(n: number): void {
    if (this.offset + n > this.body.length) throw new MalformedMessageError(`${this.what}: truncated`);
  }
}
