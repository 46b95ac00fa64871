// Custom Code's `Buffer`, `TextEncoder` and `TextDecoder` (docs/custom-code.md): the subset of
// Node's Buffer that functions use to move bytes between encodings. Tideway's own code, evaluated
// on first use by prelude.js; the byte helpers are bytes.js's.
(function (shared) {
  'use strict';
  const { bytesToBase64, bytesToHex, codesToString, base64ToBytes, utf8Encode, utf8Decode } = shared.load('bytes');
  const KNOWN = 'utf8, hex, base64, base64url, latin1 (binary) and ascii';
  const HEX_VALUE = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
    HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
  }

  function normalize(encoding) {
    if (encoding === undefined || encoding === null) return 'utf8';
    const name = String(encoding).toLowerCase();
    switch (name) {
      case 'utf8': case 'utf-8': return 'utf8';
      case 'hex': return 'hex';
      case 'base64': return 'base64';
      case 'base64url': return 'base64url';
      case 'latin1': case 'binary': return 'latin1';
      case 'ascii': return 'ascii';
      default: throw new TypeError('Unknown encoding: ' + encoding + " (Custom Code's Buffer knows " + KNOWN + ')');
    }
  }

  function encode(text, encoding) {
    switch (normalize(encoding)) {
      case 'utf8': return utf8Encode(text);
      case 'base64': case 'base64url': return base64ToBytes(text);
      case 'hex': {
        const out = new Uint8Array(text.length >> 1);
        let size = 0;
        for (; size < out.length; size++) { // Node stops at the first pair that is not hex
          const high = HEX_VALUE[text.charCodeAt(2 * size) & 127], low = HEX_VALUE[text.charCodeAt(2 * size + 1) & 127];
          if (high < 0 || low < 0 || text.charCodeAt(2 * size) > 127 || text.charCodeAt(2 * size + 1) > 127) break;
          out[size] = (high << 4) | low;
        }
        return out.subarray(0, size);
      }
      default: {
        const out = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
        return out;
      }
    }
  }

  function decode(bytes, encoding) {
    switch (normalize(encoding)) {
      case 'utf8': return utf8Decode(bytes);
      case 'base64': return bytesToBase64(bytes, false);
      case 'base64url': return bytesToBase64(bytes, true);
      case 'hex': return bytesToHex(bytes);
      case 'ascii': return codesToString(bytes.map((byte) => byte & 0x7f));
      default: return codesToString(bytes);
    }
  }

  function viewBytes(value) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return null;
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === 'string') return Buffer.fromBytes(encode(value, encodingOrOffset));
      if (value instanceof ArrayBuffer) {
        const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset);
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : Number(length));
      }
      const bytes = viewBytes(value);
      if (bytes) return Buffer.fromBytes(bytes);
      if (Array.isArray(value)) return Buffer.fromBytes(Uint8Array.from(value, (item) => Number(item) & 0xff));
      if (value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
      if (value && typeof value === 'object' && typeof value.length === 'number') return Buffer.from(Array.from(value));
      throw new TypeError('The first argument of Buffer.from must be a string, an array, a Buffer, a TypedArray, an ArrayBuffer or an array-like object');
    }
    static fromBytes(bytes) {
      const out = new Buffer(bytes.length);
      out.set(bytes);
      return out;
    }
    static alloc(size, fill, encoding) {
      const out = new Buffer(Buffer.checkSize(size));
      if (fill !== undefined && fill !== 0) out.fill(fill, 0, out.length, encoding);
      return out;
    }
    static allocUnsafe(size) { return new Buffer(Buffer.checkSize(size)); }
    static checkSize(size) {
      if (typeof size !== 'number' || !(size >= 0) || size > 0x7fffffff) throw new RangeError('The size of a Buffer must be a number from 0 to 2^31-1, got ' + size);
      return Math.floor(size);
    }
    static byteLength(value, encoding) {
      if (typeof value === 'string') return encode(value, encoding).length;
      const bytes = viewBytes(value);
      if (bytes) return bytes.byteLength;
      throw new TypeError('Buffer.byteLength needs a string, a Buffer, a TypedArray or an ArrayBuffer');
    }
    static concat(list, totalLength) {
      if (!Array.isArray(list)) throw new TypeError('Buffer.concat needs an array of Buffers or Uint8Arrays');
      let size = 0;
      const parts = list.map((item) => {
        const bytes = viewBytes(item);
        if (!bytes) throw new TypeError('Buffer.concat: every item must be a Buffer or a Uint8Array');
        size += bytes.length;
        return bytes;
      });
      const out = new Buffer(totalLength === undefined ? size : Buffer.checkSize(totalLength));
      let at = 0;
      for (const bytes of parts) {
        if (at >= out.length) break;
        out.set(bytes.subarray(0, out.length - at), at);
        at += bytes.length;
      }
      return out;
    }
    static isBuffer(value) { return value instanceof Buffer; }
    static isEncoding(encoding) {
      try { normalize(encoding); return typeof encoding === 'string'; } catch (e) { return false; }
    }
    static compare(a, b) { return Buffer.from(a).compare(b); }

    toString(encoding, start, end) {
      const from = start === undefined ? 0 : Math.max(0, start | 0);
      const to = end === undefined ? this.length : Math.min(this.length, end | 0);
      return decode(to > from ? this.subarray(from, to) : new Uint8Array(0), encoding);
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      const bytes = viewBytes(other);
      if (!bytes) throw new TypeError('Buffer.compare needs a Buffer or a Uint8Array');
      const size = Math.min(this.length, bytes.length);
      for (let i = 0; i < size; i++) if (this[i] !== bytes[i]) return this[i] < bytes[i] ? -1 : 1;
      return this.length === bytes.length ? 0 : this.length < bytes.length ? -1 : 1;
    }
    // Node's slice shares memory with the original, like subarray.
    slice(start, end) { return this.subarray(start, end); }
    fill(value, start, end, encoding) {
      if (typeof value === 'string') {
        const bytes = encode(value, encoding);
        const from = start === undefined ? 0 : start, to = end === undefined ? this.length : end;
        if (!bytes.length) return super.fill(0, from, to);
        for (let i = from, j = 0; i < to; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
        return this;
      }
      return super.fill(value, start, end);
    }
    write(text, offset, length, encoding) {
      if (typeof offset === 'string') { encoding = offset; offset = 0; length = undefined; }
      else if (typeof length === 'string') { encoding = length; length = undefined; }
      const at = offset === undefined ? 0 : offset | 0;
      const bytes = encode(String(text), encoding);
      const size = Math.min(bytes.length, this.length - at, length === undefined ? Infinity : length);
      this.set(bytes.subarray(0, size), at);
      return size;
    }
    readUInt8(offset = 0) { return this.view().getUint8(offset); }
    readUInt16BE(offset = 0) { return this.view().getUint16(offset, false); }
    readUInt16LE(offset = 0) { return this.view().getUint16(offset, true); }
    readUInt32BE(offset = 0) { return this.view().getUint32(offset, false); }
    readUInt32LE(offset = 0) { return this.view().getUint32(offset, true); }
    readInt32BE(offset = 0) { return this.view().getInt32(offset, false); }
    readInt32LE(offset = 0) { return this.view().getInt32(offset, true); }
    writeUInt8(value, offset = 0) { this.view().setUint8(offset, value); return offset + 1; }
    writeUInt16BE(value, offset = 0) { this.view().setUint16(offset, value, false); return offset + 2; }
    writeUInt32BE(value, offset = 0) { this.view().setUint32(offset, value, false); return offset + 4; }
    view() { return new DataView(this.buffer, this.byteOffset, this.byteLength); }
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(text) { return utf8Encode(text === undefined ? '' : String(text)); }
  }

  class TextDecoder {
    constructor(label, options) {
      const name = label === undefined ? 'utf-8' : String(label).toLowerCase();
      if (name !== 'utf-8' && name !== 'utf8') throw new RangeError("TextDecoder: Custom Code decodes only 'utf-8', not '" + label + "'");
      this.ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() { return 'utf-8'; }
    decode(input) {
      if (input === undefined) return '';
      const bytes = viewBytes(input);
      if (!bytes) throw new TypeError('TextDecoder.decode needs an ArrayBuffer, a TypedArray or a DataView');
      const text = utf8Decode(bytes);
      return !this.ignoreBOM && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    }
  }

  return { Buffer, TextEncoder, TextDecoder, viewBytes };
})
