// Simple chat relay (networks assignment), Node.js.
// Framing: by 'data' event - whatever one 'data' event delivers is relayed as one message.
// Design: no names, no join or leave notices at all. Every chunk received from a client is
//   relayed to every other client, prefixed with the sender's "ip:port: ".
// Expected: not gradable by meaning (the server announces nobody). Caveat: a client's first
//   write (its "name") is relayed like any message, as "127.0.0.1:PORT: name", so the others
//   do receive text with the newcomer's name, IP and port.
const net = require('net');

const HOST = '127.0.0.1';
const PORT = parseInt(process.argv[2], 10);
const sockets = [];

const server = net.createServer((socket) => {
  const who = `${socket.remoteAddress}:${socket.remotePort}`;
  sockets.push(socket);
  console.log(`+ ${who} (${sockets.length} connected)`);

  socket.on('data', (data) => {
    let text = data.toString();
    if (!text.endsWith('\n')) text += '\n';
    for (const s of sockets) {
      if (s !== socket) s.write(`${who}: ${text}`);
    }
  });

  socket.on('error', (err) => {
    console.log(`! ${who}: ${err.message}`);
  });

  socket.on('close', () => {
    sockets.splice(sockets.indexOf(socket), 1);
    console.log(`- ${who} (${sockets.length} connected)`);
  });
});

server.listen(PORT, HOST, () => console.log(`relay listening on ${HOST}:${PORT}`));
