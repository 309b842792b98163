// A traffic endpoint for the e2e bench, run inside a network namespace with `ip netns exec NS node peer.mjs`.
//
//   node peer.mjs serve HOST      control loop: one JSON command per stdin line, one JSON reply per stdout line
//     {"id":1,"op":"listen","protocol":"tcp","ip":"10.0.0.1","port":80}  -> {"id":1,"ok":true}  (no ip: any)
//     {"id":2,"op":"served"}                                             -> {"id":2,"ok":true,"records":[...]}
//   node peer.mjs connect JSON    JSON = {"protocol","dst","port","timeoutMs","count","concurrency","src","sport"}
//                                 prints one JSON array: an attempt per connection
//
// The server answers every TCP connection and every UDP datagram with a greeting
// {"host","local","peer"}: the address it was reached at and the peer it saw (after any DNAT/SNAT). The
// client reports it, so "connected" always means a full round trip and says which namespace answered.
import net from 'node:net';
import dgram from 'node:dgram';
import readline from 'node:readline';
import os from 'node:os';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';

/** `ip:port`, with brackets for IPv6. */
const hostPort = (ip, port) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

function serve(host) {
  const records = [];
  const reply = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  const greeting = (protocol, local, peer) => {
    records.push({ protocol, local, peer });
    return `${JSON.stringify({ host, local, peer })}\n`;
  };

  // Without an ip: TCP listens on 0.0.0.0 and :: (an accepted socket knows its real local address); UDP binds
  // every address of the namespace, because a wildcard UDP socket cannot tell which address a datagram was
  // sent to (no IP_PKTINFO in Node) and would answer from whatever source routing picks.
  function listenAll(cmd) {
    const ips =
      cmd.protocol === 'tcp'
        ? ['0.0.0.0', '::']
        : Object.values(os.networkInterfaces())
            .flat()
            .filter((a) => a && !a.address.startsWith('fe80:'))
            .map((a) => a.address);
    return Promise.all(ips.map((ip) => listen({ ...cmd, ip })));
  }

  function listen(cmd) {
    const ipv6Only = cmd.ip.includes(':');
    return new Promise((resolve, reject) => {
      if (cmd.protocol === 'tcp') {
        const server = net.createServer((sock) => {
          sock.on('error', () => {});
          const local = hostPort(sock.localAddress, sock.localPort);
          const peer = hostPort(sock.remoteAddress, sock.remotePort);
          sock.end(greeting('tcp', local, peer));
        });
        server.once('error', reject);
        server.listen({ host: cmd.ip, port: cmd.port, ipv6Only, backlog: 1024 }, resolve);
      } else {
        const sock = dgram.createSocket({ type: ipv6Only ? 'udp6' : 'udp4', ipv6Only });
        sock.once('error', reject);
        sock.on('message', (_msg, rinfo) => {
          const local = hostPort(cmd.ip, cmd.port);
          sock.send(greeting('udp', local, hostPort(rinfo.address, rinfo.port)), rinfo.port, rinfo.address);
        });
        sock.bind({ address: cmd.ip, port: cmd.port }, resolve);
      }
    });
  }

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = JSON.parse(line);
    if (cmd.op === 'listen') {
      (cmd.ip ? listen(cmd) : listenAll(cmd)).then(
        () => reply({ id: cmd.id, ok: true }),
        (e) => reply({ id: cmd.id, ok: false, error: String(e?.message ?? e) }),
      );
    } else if (cmd.op === 'served') {
      reply({ id: cmd.id, ok: true, records });
    } else {
      reply({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` });
    }
  });
  rl.on('close', () => process.exit(0));
}

/** Maps a socket error code to the outcome a user would name it. */
function outcomeOf(code) {
  if (code === 'ECONNREFUSED') return 'refused';
  // EACCES: a local "prohibit" route; EHOSTUNREACH/ENETUNREACH: local unreachable route or an ICMP error.
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EACCES') return 'unreachable';
  return 'error';
}

function attemptTcp(opts) {
  return new Promise((resolve) => {
    let local;
    let clientSaw;
    let buf = '';
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A reset leaves no TIME_WAIT behind (a fixed sport can be reused at once); resetAndDestroy() on a
      // socket still connecting would wait for the connect, so that one is just closed.
      if (local && !sock.destroyed) sock.resetAndDestroy();
      else sock.destroy();
      resolve({ ...r, ...(local ? { local } : {}), ...(clientSaw ? { clientSaw } : {}) });
    };
    const sock = net.connect({
      host: opts.dst,
      port: opts.port,
      ...(opts.src ? { localAddress: opts.src } : {}),
      ...(opts.sport ? { localPort: opts.sport } : {}),
    });
    const timer = setTimeout(
      () => finish(local ? { outcome: 'connected' } : { outcome: 'timeout' }),
      opts.timeoutMs,
    );
    sock.on('connect', () => {
      local = hostPort(sock.localAddress, sock.localPort);
      clientSaw = hostPort(sock.remoteAddress, sock.remotePort);
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish({ outcome: 'connected', server: JSON.parse(buf.slice(0, nl)) });
    });
    sock.on('end', () => finish({ outcome: 'connected' }));
    sock.on('error', (e) => finish({ outcome: local ? 'connected' : outcomeOf(e.code), errno: e.code }));
  });
}

function attemptUdp(opts) {
  return new Promise((resolve) => {
    const v6 = opts.dst.includes(':');
    const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    let local;
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve({ ...r, ...(local ? { local } : {}) });
    };
    const timer = setTimeout(() => finish({ outcome: 'timeout' }), opts.timeoutMs);
    sock.on('error', (e) => finish({ outcome: outcomeOf(e.code), errno: e.code }));
    sock.on('message', (msg, rinfo) =>
      finish({
        outcome: 'connected',
        clientSaw: hostPort(rinfo.address, rinfo.port),
        server: JSON.parse(msg.toString('utf8')),
      }),
    );
    sock.bind({ ...(opts.src ? { address: opts.src } : {}), port: opts.sport ?? 0 }, () => {
      // A connected socket receives the ICMP port unreachable as ECONNREFUSED, and only the reply from dst.
      sock.connect(opts.port, opts.dst, (err) => {
        if (err) return finish({ outcome: outcomeOf(err.code), errno: err.code });
        const a = sock.address();
        local = hostPort(a.address, a.port);
        sock.send('ping', (e) => e && finish({ outcome: outcomeOf(e.code), errno: e.code }));
      });
    });
  });
}

async function connect(opts) {
  const attempt = opts.protocol === 'udp' ? attemptUdp : attemptTcp;
  const count = opts.count ?? 1;
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await attempt(opts);
    }
  };
  // A fixed source port allows only one connection at a time.
  const concurrency = opts.sport ? 1 : Math.min(count, opts.concurrency ?? 64);
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'serve') serve(arg);
else if (mode === 'connect') await connect(JSON.parse(arg));
else {
  process.stderr.write('usage: peer.mjs serve HOST | connect JSON\n');
  process.exit(2);
}
