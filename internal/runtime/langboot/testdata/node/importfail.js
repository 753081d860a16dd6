require('does-not-exist-xyz');
exports.handler = async () => 1;
