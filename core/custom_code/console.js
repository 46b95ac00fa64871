// console.* for Custom Code (docs/custom-code.md): Node-like formatting of the arguments (util.format
// reduced), each line sent to the host, which keeps them up to its cap and then says stop.
// Tideway's own code, evaluated on first use by prelude.js.
(function (shared) {
  'use strict';
  const { hostCall, stringify } = shared;
  let consoleOpen = true;

  function inspect(value, depth, seen) {
    const type = typeof value;
    if (type === 'string') return depth === 0 ? value : "'" + value + "'";
    if (type === 'bigint') return String(value) + 'n';
    if (type === 'symbol') return value.toString();
    if (type === 'function') return '[Function: ' + (value.name || '(anonymous)') + ']';
    if (value === null || type !== 'object') return String(value);
    if (value instanceof Error) return value.name + ': ' + value.message;
    if (value instanceof Date) return isNaN(value) ? 'Invalid Date' : value.toISOString();
    if (value instanceof RegExp) return String(value);
    if (seen.indexOf(value) >= 0) return '[Circular]';
    if (value instanceof Uint8Array && value.constructor && value.constructor.name === 'Buffer') {
      let hex = '';
      for (let i = 0; i < value.length && i < 50; i++) hex += ' ' + (value[i] < 16 ? '0' : '') + value[i].toString(16);
      return '<Buffer' + hex + (value.length > 50 ? ' ... ' + (value.length - 50) + ' more bytes' : '') + '>';
    }
    if (Array.isArray(value)) {
      if (depth > 2) return '[Array]';
      seen.push(value);
      const items = [];
      for (let i = 0; i < value.length && i < 100; i++) items.push(inspect(value[i], depth + 1, seen));
      if (value.length > 100) items.push('... ' + (value.length - 100) + ' more items');
      seen.pop();
      return items.length ? '[ ' + items.join(', ') + ' ]' : '[]';
    }
    if (depth > 2) return '[Object]';
    seen.push(value);
    const keys = Object.keys(value);
    const items = [];
    for (let i = 0; i < keys.length && i < 100; i++) {
      const key = keys[i];
      const label = /^[A-Za-z_$][\w$]*$/.test(key) ? key : "'" + key + "'";
      items.push(label + ': ' + inspect(value[key], depth + 1, seen));
    }
    if (keys.length > 100) items.push('... ' + (keys.length - 100) + ' more properties');
    seen.pop();
    return items.length ? '{ ' + items.join(', ') + ' }' : '{}';
  }

  // Node's util.format, reduced: %s %d %i %f %j %o %O %% in a first string argument.
  function format(args) {
    let first = 0;
    let out = '';
    if (typeof args[0] === 'string' && args[0].indexOf('%') >= 0) {
      let next = 1;
      out = args[0].replace(/%[sdifjoO%]/g, (token) => {
        if (token === '%%') return '%';
        if (next >= args.length) return token;
        const arg = args[next++];
        switch (token) {
          case '%s': return typeof arg === 'string' ? arg : inspect(arg, 1, []);
          case '%d': return String(typeof arg === 'bigint' ? arg : Number(arg));
          case '%i': return String(parseInt(arg));
          case '%f': return String(parseFloat(arg));
          case '%j': try { return stringify(arg); } catch (e) { return '[Circular]'; }
          default: return inspect(arg, 1, []);
        }
      });
      first = next;
    } else if (args.length) {
      out = inspect(args[0], 0, []);
      first = 1;
    }
    for (let i = first; i < args.length; i++) out += ' ' + inspect(args[i], 0, []);
    return out;
  }

  function write(level, args) {
    if (!consoleOpen) return;
    let line;
    try { line = format(args); } catch (e) { line = '[unprintable: ' + e + ']'; }
    if (hostCall('console', level, stringify(line)) !== '1') consoleOpen = false;
  }

  return { write, inspect };
})
