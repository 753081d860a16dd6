const leftpad = require("leftpad");
exports.handler = async (event) => ({ padded: leftpad(String(event.n), 5) });
