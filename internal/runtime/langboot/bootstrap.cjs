// Lamina's bootstrap for nodejs* functions: a Lambda custom runtime that loads
// the handler named by _HANDLER ("file.export", "dir/file.export",
// "file.nested.export") from LAMBDA_TASK_ROOT (CommonJS .js/.cjs, ES modules
// .mjs or .js under "type": "module") and serves invocations from the Runtime
// API at $AWS_LAMBDA_RUNTIME_API. Plain Node 18+, no npm packages. Embedded in
// the Lamina binary (internal/runtime/langboot) and started as
// `node <this file>`. Error documents, errorType names, the context object
// and console line prefixes follow AWS's aws-lambda-nodejs-runtime-interface-client.

'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const url = require('url');
const util = require('util');

const PREFIX = '/2018-06-01/runtime';

// ------------------------------------------------------------------ errors

// runtimeError makes an Error named Runtime.<name>. The name sits on the
// prototype, as on AWS, so it is not an own property in logged JSON.
const runtimeErrorClasses = {};
function runtimeError(name, message) {
  let C = runtimeErrorClasses[name];
  if (!C) {
    C = class extends Error {};
    Object.defineProperty(C.prototype, 'name', { value: 'Runtime.' + name, writable: true, configurable: true });
    runtimeErrorClasses[name] = C;
  }
  const e = new C(message);
  Error.captureStackTrace(e, runtimeError);
  return e;
}

function isError(v) {
  return (
    util.types.isNativeError(v) ||
    (v && typeof v.name === 'string' && typeof v.message === 'string' && typeof v.stack === 'string')
  );
}

// The error document posted to /error and /init/error.
function toRapidResponse(error) {
  try {
    if (isError(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

// The error as AWS logs it: a tab, then JSON with the enumerable properties.
function toFormatted(error) {
  const withProps = (_k, v) => {
    if (v instanceof Error) {
      const ret = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
      if (typeof v.stack === 'string') ret.stack = v.stack.split('\n');
      return ret;
    }
    return v;
  };
  try {
    return '\t' + JSON.stringify(error, withProps);
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// ----------------------------------------------------------------- logging

// Saved before patching: the runtime's own diagnostics bypass the prefixes.
const rawStderr = (s) => process.stderr.write(s);

let currentRequestId; // undefined during init, as on AWS

function patchConsole() {
  const levels = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
  const min = levels[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || levels.TRACE;
  const logger = (level) => {
    if (levels[level] < min) return () => {};
    return (...params) => {
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...params)}\n`);
    };
  };
  console.trace = logger('TRACE');
  console.debug = logger('DEBUG');
  console.info = logger('INFO');
  console.log = console.info;
  console.warn = logger('WARN');
  console.error = logger('ERROR');
  console.fatal = logger('FATAL');
}

function logError(what, err) {
  console.error(what, toFormatted(intoError(err)));
}

// ------------------------------------------------------------- Runtime API

function parseAddress(address) {
  const i = address.lastIndexOf(':');
  if (i < 0) return { host: address, port: 80 };
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: parseInt(address.slice(i + 1), 10) };
}

const address = process.env.AWS_LAMBDA_RUNTIME_API;
if (!address) {
  rawStderr('lamina bootstrap: AWS_LAMBDA_RUNTIME_API is not set\n');
  process.exit(1);
}
const { host, port } = parseAddress(address);
// One kept-alive connection; its idle socket does not hold the event loop.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const userAgent = `lamina-node/${process.versions.node}`;

function request(method, p, body, headers, retried) {
  return new Promise((resolve, reject) => {
    const h = Object.assign({ 'User-Agent': userAgent }, headers);
    let buf;
    if (body !== undefined) {
      buf = Buffer.from(body, 'utf8');
      h['Content-Length'] = buf.length;
    }
    const req = http.request({ host, port, method, path: PREFIX + p, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', (err) => {
      // A kept-alive socket the server closed while idle: send once more.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') {
        request(method, p, body, headers, true).then(resolve, reject);
      } else {
        reject(err);
      }
    });
    req.end(buf);
  });
}

function serialize(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (_) {
    throw runtimeError('JSONStringifyError', 'Unable to stringify response body');
  }
}

async function post(p, bodyString, headers) {
  const res = await request('POST', p, bodyString, Object.assign({ 'Content-Type': 'application/json' }, headers));
  if (res.status !== 202) {
    rawStderr(`lamina bootstrap: POST ${p} answered ${res.status}: ${res.body.slice(0, 500)}\n`);
    // 5xx: the platform side is broken; the sandbox will be replaced.
    if (res.status >= 500) process.exit(1);
  }
}

function postError(p, error) {
  const doc = toRapidResponse(error);
  let s;
  try {
    s = JSON.stringify(doc);
  } catch (_) {
    s = JSON.stringify({ errorType: String(doc.errorType), errorMessage: String(doc.errorMessage), trace: [] });
  }
  return post(p, s, { 'Lambda-Runtime-Function-Error-Type': String(doc.errorType) });
}

const invocationPath = (id) => `/invocation/${encodeURIComponent(id)}`;

// ------------------------------------------------------------ user function

function hasPackageTypeModule(dir) {
  // The nearest package.json decides; node_modules stops the search.
  for (;;) {
    if (dir.endsWith(path.sep + 'node_modules')) return false;
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (e) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

function tryRequire(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImport(file) {
  return fs.existsSync(file) ? import(url.pathToFileURL(file).href) : undefined;
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const typeModule = hasPackageTypeModule(path.dirname(base));
  if (!typeModule) {
    const cjs = tryRequire(base + '.js');
    if (cjs) return cjs;
  }
  const loaded =
    (typeModule && (await tryImport(base + '.js'))) ||
    (await tryImport(base + '.mjs')) ||
    tryRequire(base + '.cjs');
  if (loaded) return loaded;
  // Not a file in the code directory: a package, resolved from there.
  return require(require.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw runtimeError(
      'MalformedHandlerName',
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const m = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!m) throw runtimeError('MalformedHandlerName', 'Bad handler');
  const [, moduleName, handlerPath] = m;

  globalThis.awslambda = globalThis.awslambda || {
    streamifyResponse: () => {
      throw runtimeError('MalformedStreamingHandler', 'Response streaming is not supported by Lamina yet.');
    },
  };

  let mod;
  try {
    mod = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) {
      const err = runtimeError('UserCodeSyntaxError', String(e));
      err.stack = e.stack;
      throw err;
    }
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw runtimeError('ImportModuleError', String(e));
    }
    throw e;
  }
  const fn = handlerPath.split('.').reduce((o, k) => o && o[k], mod);
  if (!fn) throw runtimeError('HandlerNotFound', `${fullHandler} is undefined or not exported`);
  if (typeof fn !== 'function') throw runtimeError('HandlerNotFound', `${fullHandler} is not a function`);
  return fn;
}

// ---------------------------------------------------------------- the loop

let initialised = false;
let current = null; // the invocation in progress: { id, finish }
let beforeExitHook = null;

process.on('beforeExit', () => {
  const h = beforeExitHook;
  beforeExitHook = null;
  if (h) h();
});

function fatal(kind, error, code) {
  logError(kind, error);
  const done = () => process.exit(code);
  let p;
  if (current) p = postError(invocationPath(current.id) + '/error', error);
  else if (!initialised) p = postError('/init/error', error);
  else return done();
  p.then(done, done);
}

process.on('uncaughtException', (error) => fatal('Uncaught Exception', error, 129));
process.on('unhandledRejection', (reason) => {
  const error = runtimeError('UnhandledPromiseRejection', String(reason));
  error.reason = reason;
  fatal('Unhandled Promise Rejection', error, 128);
});

function isPromise(v) {
  return v && typeof v.then === 'function';
}

function parseJSONHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

async function next(handler) {
  const res = await request('GET', '/invocation/next');
  if (res.status !== 200) {
    rawStderr(`lamina bootstrap: /next answered ${res.status}: ${res.body.slice(0, 500)}\n`);
    process.exit(1);
  }
  invoke(handler, res.headers, res.body);
}

function scheduleNext(handler) {
  setImmediate(() =>
    next(handler).catch((err) => {
      rawStderr(`lamina bootstrap: Runtime API: ${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    }),
  );
}

function invoke(handler, headers, body) {
  const id = headers['lambda-runtime-aws-request-id'];
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  currentRequestId = id;
  if (headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  else delete process.env._X_AMZN_TRACE_ID;

  // finish reports the outcome once; later calls are ignored.
  let finished = false;
  const finish = (err, result) => {
    if (finished) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    finished = true;
    beforeExitHook = null;
    let p;
    if (err !== undefined && err !== null) {
      logError('Invoke Error', err);
      p = postError(invocationPath(id) + '/error', err);
    } else {
      let s;
      try {
        s = serialize(result);
      } catch (e) {
        logError('Invoke Error', e);
        p = postError(invocationPath(id) + '/error', e);
      }
      if (!p) p = post(invocationPath(id) + '/response', s, {});
    }
    p.then(
      () => {
        if (current && current.id === id) current = null;
        scheduleNext(handler);
      },
      (e) => {
        rawStderr(`lamina bootstrap: Runtime API: ${e && e.stack ? e.stack : e}\n`);
        process.exit(1);
      },
    );
  };
  current = { id };

  let waitForEmptyEventLoop = true;
  let callbackCalled = false;
  const callback = (err, result) => {
    if (callbackCalled || finished) return;
    callbackCalled = true;
    if (err !== undefined && err !== null) return finish(err);
    if (!waitForEmptyEventLoop) return finish(null, result);
    // Report once the function's pending work (timers, sockets) is done.
    beforeExitHook = () => setImmediate(() => finish(null, result));
  };
  const done = (err, result) => {
    if (!finished) finish(err, result);
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(v) {
      waitForEmptyEventLoop = v;
    },
    succeed: (result) => done(null, result),
    fail: (err) => done(err === undefined || err === null ? 'handled' : err),
    done,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: id,
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };

  let pending = false;
  // If the event loop empties with nothing reported: a sync or callback
  // handler that never called back succeeded with null; an async handler
  // whose promise can no longer settle failed.
  beforeExitHook = () => {
    if (pending) {
      finish(
        runtimeError(
          'NodeJsExit',
          'Error: Runtime exited without providing a reason: the handler returned a promise that never settled and nothing was left to run',
        ),
      );
    } else {
      finish(null, null);
    }
  };

  try {
    context.clientContext = parseJSONHeader(headers['lambda-runtime-client-context'], 'ClientContext');
    context.identity = parseJSONHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity');
    const result = handler(JSON.parse(body), context, callback);
    if (isPromise(result)) {
      pending = true;
      result.then(
        (v) => {
          pending = false;
          done(null, v);
        },
        (e) => {
          pending = false;
          done(e === undefined || e === null ? 'handled' : e);
        },
      );
    } else if (result !== undefined && handler.length < 3) {
      // A plain sync handler's return value is its result (as on nodejs24.x).
      done(null, result);
    }
  } catch (err) {
    callback(err);
  }
}

async function main() {
  patchConsole();
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handler = await loadHandler(appRoot, process.env._HANDLER || '');
  initialised = true;
  scheduleNext(handler);
}

main().catch((error) => {
  logError('Init Error', error);
  const exit = () => process.exit(129);
  postError('/init/error', error).then(exit, exit);
});
