// The core of every Custom Code context (docs/custom-code.md), evaluated first in each fresh
// QuickJS context, before the function. Tideway's own code: `console`, `require`, timers that
// say they do not exist, a few polyfills of newer built-ins, the lazy globals `Buffer`,
// `TextEncoder`, `TextDecoder`, `crypto`, `atob`, `btoa` (bytes.js, console.js, buffer.js and
// crypto.js, compiled on first use: compiling costs ~50 µs per KB, every call), and the runner
// that the host drives through the function this script evaluates to.
//
// The one Python host function, `__tw_host(op, ...strings) -> string`, is captured here and
// removed from the global object: the function's code reaches Python only through the wrappers
// below, which pass it nothing but strings Python can read whole (base64, or JSON, which escapes
// NUL and lone surrogates), checked again in Python. Everything the runner needs after the function starts is captured now, so a function
// that replaces `JSON`, `Object` or prototypes only changes its own result.
(function () {
  'use strict';
  const host = globalThis.__tw_host;
  delete globalThis.__tw_host;
  const indirectEval = globalThis.eval;
  const stringify = JSON.stringify;
  const parseJSON = JSON.parse;
  const defineProperty = Object.defineProperty;
  const hasOwn = Function.prototype.call.bind(Object.prototype.hasOwnProperty);
  const StringCtor = String;
  const ErrorCtor = Error;
  const AsyncFunction = (async function () {}).constructor;
  const promiseThen = Promise.prototype.then;
  const stackLine = /<input>:(\d+)\)?$/;

  // ---- the host bridge: answers are "=payload" or "!error message" ----
  function hostCall(op, a, b, c, d) {
    const answer = host(op, a === undefined ? '' : StringCtor(a), b === undefined ? '' : StringCtor(b),
      c === undefined ? '' : StringCtor(c), d === undefined ? '' : StringCtor(d));
    if (typeof answer !== 'string') throw new ErrorCtor('internal error in ' + op);
    if (answer[0] === '!') {
      const error = new ErrorCtor(answer.slice(1));
      throw error;
    }
    return answer.slice(1);
  }

  // ---- lazy modules: compiled on first use, so that a function pays only for what it uses ----
  const shared = { hostCall, stringify };
  const modules = Object.create(null);
  function load(name) {
    if (!modules[name]) modules[name] = indirectEval(hostCall('source', name))(shared);
    return modules[name];
  }
  shared.load = load;
  function lazyGlobal(name, make) {
    defineProperty(globalThis, name, {
      configurable: true,
      get() {
        const value = make();
        defineProperty(globalThis, name, { value, writable: true, configurable: true });
        return value;
      },
      set(value) { defineProperty(globalThis, name, { value, writable: true, configurable: true }); },
    });
  }
  lazyGlobal('Buffer', () => load('buffer').Buffer);
  lazyGlobal('TextEncoder', () => load('buffer').TextEncoder);
  lazyGlobal('TextDecoder', () => load('buffer').TextDecoder);
  lazyGlobal('crypto', () => load('crypto')); // Node 19+ has a global crypto too
  lazyGlobal('atob', () => load('bytes').atob);
  lazyGlobal('btoa', () => load('bytes').btoa);

  // ---- console: lines go to the host (console.js), which keeps them up to its cap ----
  const writer = (level) => function () { load('console').write(level, Array.prototype.slice.call(arguments)); };
  const log = writer('log');
  const consoleObject = {
    log, info: writer('info'), warn: writer('warn'), error: writer('error'), debug: log, trace: log,
    dir: (value) => log(value), table: (value) => log(value),
  };
  defineProperty(globalThis, 'console', { value: consoleObject, writable: true, configurable: true });

  // ---- timers do not exist: a function runs to its end, it cannot wait ----
  for (const name of ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate']) {
    globalThis[name] = function () {
      throw new ErrorCtor(name + ' is not available in Custom Code: a function cannot wait or schedule work (use the automation\'s `wait` instruction)');
    };
  }
  globalThis.queueMicrotask = function queueMicrotask(callback) {
    if (typeof callback !== 'function') throw new TypeError('queueMicrotask: the callback must be a function');
    Promise.resolve().then(() => callback());
  };

  // ---- newer built-ins this QuickJS lacks ----
  function polyfill(target, name, value) {
    if (!hasOwn(target, name)) defineProperty(target, name, { value, writable: true, configurable: true });
  }
  function at(index) {
    const size = this.length;
    let i = Math.trunc(index) || 0;
    if (i < 0) i += size;
    return i < 0 || i >= size ? undefined : this[i];
  }
  polyfill(Array.prototype, 'at', at);
  polyfill(String.prototype, 'at', function (index) { return at.call(StringCtor(this), index); });
  polyfill(Object, 'hasOwn', (object, key) => hasOwn(Object(object), key));
  polyfill(Array.prototype, 'findLast', function (test, self) {
    for (let i = this.length - 1; i >= 0; i--) if (test.call(self, this[i], i, this)) return this[i];
    return undefined;
  });
  polyfill(Array.prototype, 'findLastIndex', function (test, self) {
    for (let i = this.length - 1; i >= 0; i--) if (test.call(self, this[i], i, this)) return i;
    return -1;
  });
  polyfill(globalThis, 'structuredClone', (value) => (value === undefined ? undefined : parseJSON(stringify(value))));
  delete globalThis.__date_clock; // QuickJS's own microsecond clock: not a platform API

  const AVAILABLE = "'crypto' and 'buffer'";
  globalThis.require = function require(name) {
    const bare = StringCtor(name).replace(/^node:/, '');
    if (bare === 'crypto') return load('crypto');
    if (bare === 'buffer') return load('buffer');
    const error = new ErrorCtor("Cannot find module '" + StringCtor(name) + "': Custom Code functions can require only " + AVAILABLE + ' (no filesystem, network, process or packages)');
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  };

  // ---- the runner ----
  let state = { status: 'pending' };

  // The first line of the function's own code in a stack: lines past `offset` are the function
  // body's (its compiled source starts with `offset` lines of parameter list), smaller ones are
  // this shim's, or code the function built with eval/new Function.
  function userLine(error, offset) {
    try {
      if (error instanceof SyntaxError && typeof error.lineNumber === 'number' && error.lineNumber > offset) {
        return error.lineNumber - offset;
      }
      const frames = StringCtor(error.stack || '').split('\n');
      for (const frame of frames) {
        const match = stackLine.exec(frame);
        if (match && Number(match[1]) > offset) return Number(match[1]) - offset;
      }
    } catch (e) { /* an error with hostile getters: no line */ }
    return null;
  }

  function describe(error) {
    try {
      if (error === null || error === undefined) return { name: 'Error', message: StringCtor(error) };
      if (error instanceof ErrorCtor || (error && typeof error === 'object' && 'message' in error)) {
        const code = typeof error.code === 'string' ? error.code : '';
        return { name: StringCtor(error.name || 'Error'), message: StringCtor(error.message), code };
      }
      return { name: 'Error', message: typeof error === 'string' ? error : load('console').inspect(error, 1, []) };
    } catch (e) {
      return { name: 'Error', message: '(an error that cannot be printed)' };
    }
  }

  function failed(kind, error, offset) {
    const described = describe(error);
    const result = Object.create(null);
    result.status = 'error';
    // QuickJS throws null when it is out of memory even for the error object.
    result.kind = error === null && kind === 'thrown' ? 'null' : kind;
    result.name = described.name;
    result.message = described.message;
    result.code = described.code || '';
    result.line = userLine(error, offset);
    state = result;
  }

  function succeeded(value, maxOutput) {
    let json;
    try {
      json = stringify(value);
    } catch (error) {
      failed('not-json', error, Infinity);
      return;
    }
    if (json === undefined && value !== undefined) {
      failed('not-json', new TypeError('the function returned a ' + typeof value + ', which has no JSON form'), Infinity);
      return;
    }
    if (json !== undefined && json.length > maxOutput) {
      failed('output', new RangeError('the result is ' + json.length + ' characters of JSON, more than the ' + maxOutput + ' allowed'), Infinity);
      return;
    }
    const result = Object.create(null);
    result.status = 'ok';
    result.json = json === undefined ? null : json;
    state = result;
  }

  // control('run', code, names, args, settings) compiles and starts the function (its promise
  // settles as the host runs the pending jobs); control('outcome') answers the state as JSON.
  return function control(op, code, namesJSON, argsJSON, settingsJSON) {
    if (op === 'outcome') return stringify(state);
    const settings = parseJSON(settingsJSON);
    const names = parseJSON(namesJSON);
    const offset = settings.offset;
    // The padding (newlines) ends the parameter list, so the body starts past `offset` lines.
    const parameters = names.length ? names.slice(0, -1).concat([names[names.length - 1] + settings.padding]) : [settings.padding];
    let fn;
    try {
      fn = new AsyncFunction(...parameters, code);
    } catch (error) {
      failed(error instanceof SyntaxError ? 'syntax' : 'thrown', error, offset);
      return 'done';
    }
    let args;
    try {
      args = parseJSON(argsJSON);
    } catch (error) {
      failed('thrown', error, offset);
      return 'done';
    }
    const values = names.map((name) => (hasOwn(args, name) ? args[name] : undefined));
    let promise;
    try {
      promise = fn(...values);
    } catch (error) {
      failed('thrown', error, offset);
      return 'done';
    }
    promiseThen.call(promise, (value) => succeeded(value, settings.maxOutput), (error) => failed('thrown', error, offset));
    return 'started';
  };
})()
