// Callback-style handlers. The result object is changed by a timer after the
// callback: with callbackWaitsForEmptyEventLoop (the default) the response is
// sent once the timer has run, so it shows late: true.
exports.handler = (event, context, callback) => {
  const res = { cb: true, name: event.name, late: false };
  setTimeout(() => {
    res.late = true;
  }, 50);
  callback(null, res);
};

exports.noWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  const res = { cb: true, late: false };
  setTimeout(() => {
    res.late = true;
  }, 50);
  callback(null, res);
};

exports.error = (event, context, callback) => {
  callback(new TypeError('bad input'));
};

exports.stringError = (event, context, callback) => {
  callback('plain string');
};

exports.neverCalls = (event, context, callback) => {};
