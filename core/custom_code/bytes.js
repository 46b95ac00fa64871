// Bytes and strings for Custom Code (docs/custom-code.md): base64 (both alphabets), UTF-8 as
// Node encodes and decodes it, and the atob/btoa globals. Tideway's own code, evaluated on first
// use by prelude.js; buffer.js and crypto.js build on it.
(function () {
  'use strict';
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64_INDEX = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
  B64_INDEX[45] = 62; // '-' of base64url
  B64_INDEX[95] = 63; // '_' of base64url

  // Strings are built from typed arrays of character codes, 8192 at a time: QuickJS copies a
  // string on every `+=`, which makes a loop of them quadratic.
  function codesToString(codes) {
    const parts = [];
    for (let i = 0; i < codes.length; i += 8192) parts.push(String.fromCharCode.apply(null, codes.subarray(i, i + 8192)));
    return parts.join('');
  }

  const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
  const B64URL_CODES = Uint8Array.from(B64.slice(0, 62) + '-_', (c) => c.charCodeAt(0));

  function bytesToBase64(bytes, url) {
    const alphabet = url ? B64URL_CODES : B64_CODES;
    const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
    let i = 0, o = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out[o++] = alphabet[n >> 18]; out[o++] = alphabet[(n >> 12) & 63];
      out[o++] = alphabet[(n >> 6) & 63]; out[o++] = alphabet[n & 63];
    }
    const rest = bytes.length - i;
    if (rest) {
      const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
      out[o++] = alphabet[n >> 18]; out[o++] = alphabet[(n >> 12) & 63];
      if (rest === 2) out[o++] = alphabet[(n >> 6) & 63];
      if (!url) while (o % 4) out[o++] = 61; // '='
    }
    return codesToString(out.subarray(0, o));
  }

  const HEX_CODES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

  function bytesToHex(bytes) {
    const out = new Uint8Array(bytes.length * 2);
    for (let i = 0; i < bytes.length; i++) {
      out[2 * i] = HEX_CODES[bytes[i] >> 4];
      out[2 * i + 1] = HEX_CODES[bytes[i] & 15];
    }
    return codesToString(out);
  }


  // Lenient like Node's Buffer.from(s, 'base64'): both alphabets, padding optional, stops at the
  // first '=' and skips other characters.
  function base64ToBytes(text) {
    const out = new Uint8Array((text.length * 3) >> 2);
    let size = 0, acc = 0, bits = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === 61) break; // '='
      const value = code < 128 ? B64_INDEX[code] : -1;
      if (value < 0) continue;
      acc = ((acc << 6) | value) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[size++] = (acc >> bits) & 0xff;
      }
    }
    return out.subarray(0, size);
  }

  function utf8Encode(text) {
    const out = new Uint8Array(text.length * 3);
    let size = 0;
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = text.charCodeAt(i + 1);
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          code = 0xfffd; // a lone surrogate, as Node encodes it
        }
      }
      if (code < 0x80) {
        out[size++] = code;
      } else if (code < 0x800) {
        out[size++] = 0xc0 | (code >> 6);
        out[size++] = 0x80 | (code & 63);
      } else if (code < 0x10000) {
        out[size++] = 0xe0 | (code >> 12);
        out[size++] = 0x80 | ((code >> 6) & 63);
        out[size++] = 0x80 | (code & 63);
      } else {
        out[size++] = 0xf0 | (code >> 18);
        out[size++] = 0x80 | ((code >> 12) & 63);
        out[size++] = 0x80 | ((code >> 6) & 63);
        out[size++] = 0x80 | (code & 63);
      }
    }
    return out.slice(0, size);
  }

  // Invalid sequences decode to U+FFFD, as Node and TextDecoder do.
  function utf8Decode(bytes) {
    const out = new Uint16Array(bytes.length); // never more UTF-16 units than UTF-8 bytes
    let size = 0;
    for (let i = 0; i < bytes.length;) {
      const lead = bytes[i];
      let code = 0xfffd, need = 0, min = 0;
      if (lead < 0x80) { code = lead; i += 1; }
      else if (lead >= 0xc2 && lead < 0xe0) { need = 1; code = lead & 31; min = 0x80; }
      else if (lead >= 0xe0 && lead < 0xf0) { need = 2; code = lead & 15; min = 0x800; }
      else if (lead >= 0xf0 && lead < 0xf5) { need = 3; code = lead & 7; min = 0x10000; }
      else { i += 1; }
      if (need) {
        let j = 1;
        for (; j <= need; j++) {
          const next = bytes[i + j];
          if (next === undefined || (next & 0xc0) !== 0x80) break;
          code = (code << 6) | (next & 63);
        }
        if (j <= need || code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
          code = 0xfffd;
          i += j;
        } else {
          i += need + 1;
        }
      }
      if (code >= 0x10000) {
        code -= 0x10000;
        out[size++] = 0xd800 + (code >> 10);
        out[size++] = 0xdc00 + (code & 1023);
      } else {
        out[size++] = code;
      }
    }
    return codesToString(out.subarray(0, size));
  }


  // atob / btoa work on latin1 strings, as in browsers and Node.
  function invalidCharacter(message) {
    const error = new Error(message);
    error.name = 'InvalidCharacterError';
    return error;
  }
  function btoa(data) {
    const text = String(data);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 255) throw invalidCharacter('btoa: the string contains characters outside of Latin1 (encode it to UTF-8 first, e.g. Buffer.from(s).toString(\'base64\'))');
      bytes[i] = code;
    }
    return bytesToBase64(bytes, false);
  }
  function atob(data) {
    const text = String(data).replace(/[\t\n\f\r ]/g, '');
    if (/[^A-Za-z0-9+/=]/.test(text) || text.length % 4 === 1) throw invalidCharacter('atob: the string is not valid base64');
    return codesToString(base64ToBytes(text));
  }


  return { bytesToBase64, bytesToHex, codesToString, base64ToBytes, utf8Encode, utf8Decode, atob, btoa };
})
