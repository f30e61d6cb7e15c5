// Loaded by the wiring tests' Node app (NODE_OPTIONS=--require): any DNS lookup or connection that is not to
// loopback is refused and written to $GLASSBOX_NETGUARD_LOG, so a library phoning home fails the test.
const dns = require("node:dns");
const fs = require("node:fs");
const net = require("node:net");

const log = process.env.GLASSBOX_NETGUARD_LOG;
const loopback = (host) => host === undefined || host === "localhost" || host === "::1" || /^127\./.test(host);
const refuse = (what) => {
  fs.appendFileSync(log, what + "\n");
  return new Error(`wiring test: ${what} refused (nothing may leave the machine)`);
};

if (log) {
  const lookup = dns.lookup;
  dns.lookup = function (host, ...rest) {
    if (!loopback(host)) throw refuse(`node lookup ${host}`);
    return lookup.call(this, host, ...rest);
  };
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const host = typeof first === "object" && first !== null ? first.host : typeof args[1] === "string" ? args[1] : undefined;
    const path = typeof first === "object" && first !== null ? first.path : undefined;
    if (path === undefined && !loopback(host)) throw refuse(`node connect ${host}`);
    return connect.apply(this, args);
  };
}
