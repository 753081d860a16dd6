// Handlers for langboot's tests (CommonJS).
exports.handler = async (event) => {
  console.log('hello', { a: 1 });
  return { ok: true, echo: event.name, unicode: '\u00e9' };
};

exports.fail = async () => {
  throw new Error('boom');
};

exports.nothing = async () => {};

exports.notAFunction = 42;

exports.nested = { deeper: { handler: async () => 'nested' } };

exports.syncReturn = (event) => ({ sync: true, name: event.name });

exports.legacySucceed = (event, context) => {
  setTimeout(() => context.succeed({ legacy: true }), 20);
};

exports.circular = async () => {
  const o = {};
  o.self = o;
  return o;
};

exports.rejectLater = async () => {
  Promise.reject(new Error('late'));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return 'unreachable';
};

exports.ctx = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  awsRequestId: context.awsRequestId,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  identity: context.identity,
  clientContext: context.clientContext,
  traceId: process.env._X_AMZN_TRACE_ID,
  remainingOk: context.getRemainingTimeInMillis() > 0 && context.getRemainingTimeInMillis() <= 60000,
  callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
  hasDone: typeof context.done === 'function' && typeof context.succeed === 'function' && typeof context.fail === 'function',
});

exports.remaining = async (event, context) => {
  const before = context.getRemainingTimeInMillis();
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { before, after: context.getRemainingTimeInMillis() };
};

exports.size = async (event) => ({ len: event.data.length, last: event.data.slice(-3) });
