// Custom Code's `require('crypto')` (docs/custom-code.md): the subset of Node's crypto module that
// functions use to hash, sign (RS256 JWT assertions) and draw random values. The work is done by
// synchronous Python host functions (crypto_host.py: hashlib, hmac, secrets, cryptography); bytes
// cross as base64. Tideway's own code, evaluated on first use by prelude.js.
(function (shared) {
  'use strict';
  const { hostCall, load, stringify } = shared;
  const { bytesToBase64 } = load('bytes');
  const { Buffer, viewBytes } = load('buffer');
  const HASHES = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

  // 'sha256', 'SHA256', 'sha-256', 'RSA-SHA256' all name sha256, as in Node.
  function hashName(algorithm, what) {
    const name = String(algorithm).toLowerCase().replace(/^rsa-/, '').replace(/^sha-/, 'sha');
    if (HASHES.indexOf(name) < 0) {
      throw new Error(what + ": digest '" + algorithm + "' is not supported (Custom Code knows " + HASHES.join(', ') + ')');
    }
    return name;
  }

  function toBytes(data, encoding, what) {
    if (typeof data === 'string') return Buffer.from(data, encoding);
    const bytes = viewBytes(data);
    if (bytes) return bytes;
    throw new TypeError('The "' + what + '" argument must be of type string or an instance of Buffer, TypedArray, or DataView.');
  }

  function output(base64, encoding) {
    const bytes = Buffer.from(base64, 'base64');
    return encoding === undefined || encoding === 'buffer' ? bytes : bytes.toString(encoding);
  }

  // Data accumulates here, in the function's own (limited) memory, and crosses to Python once,
  // as a JSON array of parts: text (UTF-8, encoded by Python: JSON.stringify is native, a
  // JavaScript encoding loop is not) or {b: base64} for bytes.
  class Collector {
    constructor() { this.parts = []; this.finished = false; }
    add(data, encoding) {
      if (this.finished) throw new Error('Digest already called');
      if (typeof data === 'string' && (encoding === undefined || /^utf-?8$/i.test(encoding))) this.parts.push(data);
      else this.parts.push({ b: bytesToBase64(toBytes(data, encoding, 'data'), false) });
      return this;
    }
    take() {
      if (this.finished) throw new Error('Digest already called');
      this.finished = true;
      return stringify(this.parts);
    }
  }
  const bytesPart = (bytes) => stringify([{ b: bytesToBase64(bytes, false) }]);

  class Hash {
    constructor(algorithm) { this.algorithm = hashName(algorithm, 'createHash'); this.collector = new Collector(); }
    update(data, encoding) { this.collector.add(data, encoding); return this; }
    digest(encoding) { return output(hostCall('hash', this.algorithm, this.collector.take()), encoding); }
    copy() {
      const copy = new Hash(this.algorithm);
      copy.collector.parts = this.collector.parts.slice();
      return copy;
    }
  }

  class Hmac {
    constructor(algorithm, key) {
      this.algorithm = hashName(algorithm, 'createHmac');
      this.key = bytesToBase64(toBytes(key, undefined, 'key'), false);
      this.collector = new Collector();
    }
    update(data, encoding) { this.collector.add(data, encoding); return this; }
    digest(encoding) { return output(hostCall('hmac', this.algorithm, this.key, this.collector.take()), encoding); }
  }

  // A key is a PEM string or Buffer, or {key, passphrase}; KeyObjects do not exist here.
  function keyParts(key) {
    let pem = key, passphrase = '';
    if (key && typeof key === 'object' && !viewBytes(key)) {
      pem = key.key;
      if (key.passphrase !== undefined) passphrase = bytesToBase64(toBytes(key.passphrase, undefined, 'passphrase'), false);
    }
    if (typeof pem !== 'string' && !viewBytes(pem)) {
      throw new TypeError('The key must be a PEM string, a Buffer holding one, or {key, passphrase}');
    }
    return [bytesToBase64(toBytes(pem, 'utf8', 'key'), false), passphrase];
  }

  function signParts(algorithm, parts, key, what) {
    const [pem, passphrase] = keyParts(key);
    return hostCall('sign', hashName(algorithm, what), pem, passphrase, parts);
  }

  function verifyParts(algorithm, parts, key, signature, what) {
    const [pem] = keyParts(key);
    return hostCall('verify', hashName(algorithm, what), pem, bytesToBase64(signature, false), parts) === '1';
  }

  class Sign {
    constructor(algorithm) { this.algorithm = algorithm; hashName(algorithm, 'createSign'); this.collector = new Collector(); }
    update(data, encoding) { this.collector.add(data, encoding); return this; }
    sign(privateKey, encoding) {
      return output(signParts(this.algorithm, this.collector.take(), privateKey, 'sign'), encoding);
    }
  }

  class Verify {
    constructor(algorithm) { this.algorithm = algorithm; hashName(algorithm, 'createVerify'); this.collector = new Collector(); }
    update(data, encoding) { this.collector.add(data, encoding); return this; }
    verify(publicKey, signature, encoding) {
      const signatureBytes = toBytes(signature, encoding, 'signature');
      return verifyParts(this.algorithm, this.collector.take(), publicKey, signatureBytes, 'verify');
    }
  }

  function randomBytes(size, callback) {
    if (typeof size !== 'number' || !(size >= 0) || size % 1 !== 0) throw new RangeError('randomBytes: the size must be a whole number >= 0, got ' + size);
    const bytes = Buffer.from(hostCall('random', String(size)), 'base64');
    if (typeof callback === 'function') {
      Promise.resolve().then(() => callback(null, bytes));
      return undefined;
    }
    return bytes;
  }

  function randomInt(min, max, callback) {
    if (max === undefined || typeof max === 'function') { callback = max; max = min; min = 0; }
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min || max - min > 0xffffffffffff) {
      throw new RangeError('randomInt: min and max must be safe integers with min < max and max - min <= 2^48');
    }
    const range = max - min;
    const limit = Math.floor(0x1000000000000 / range) * range; // rejection sampling, no modulo bias
    let value;
    do {
      const bytes = randomBytes(6);
      value = bytes.reduce((acc, byte) => acc * 256 + byte, 0);
    } while (value >= limit);
    const result = min + (value % range);
    if (typeof callback === 'function') {
      Promise.resolve().then(() => callback(null, result));
      return undefined;
    }
    return result;
  }

  function getRandomValues(array) {
    const bytes = viewBytes(array);
    if (!bytes || array instanceof Float32Array || array instanceof Float64Array) throw new TypeError('getRandomValues needs an integer TypedArray');
    if (bytes.length > 65536) throw new RangeError('getRandomValues: at most 65536 bytes at once');
    bytes.set(randomBytes(bytes.length));
    return array;
  }

  function timingSafeEqual(a, b) {
    const left = viewBytes(a), right = viewBytes(b);
    if (!left || !right) throw new TypeError('timingSafeEqual needs two Buffers, TypedArrays or DataViews');
    if (left.length !== right.length) throw new RangeError('Input buffers must have the same byte length');
    let diff = 0;
    for (let i = 0; i < left.length; i++) diff |= left[i] ^ right[i];
    return diff === 0;
  }

  return {
    createHash: (algorithm) => new Hash(algorithm),
    createHmac: (algorithm, key) => new Hmac(algorithm, key),
    createSign: (algorithm) => new Sign(algorithm),
    createVerify: (algorithm) => new Verify(algorithm),
    sign: (algorithm, data, key) => Buffer.from(signParts(algorithm || 'sha256', bytesPart(toBytes(data, undefined, 'data')), key, 'sign'), 'base64'),
    verify: (algorithm, data, key, signature) => verifyParts(algorithm || 'sha256', bytesPart(toBytes(data, undefined, 'data')), key, toBytes(signature, undefined, 'signature'), 'verify'),
    randomBytes,
    randomInt,
    randomUUID: () => hostCall('uuid'),
    getRandomValues,
    timingSafeEqual,
    getHashes: () => HASHES.slice(),
  };
})
