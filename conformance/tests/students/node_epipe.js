// Multi-user chat server (networks assignment), Node.js version.
// Framing: "lines" - every message is one line ending in \n (split on \n by hand).
// Node is event driven (no threads), which is fine for this assignment.
// Defect: no 'error' listener on any socket. When a user disconnects politely (FIN), the
//   'end' handler closes our side with socket.end() and THEN writes a goodbye to it (wrong
//   order): write after end emits 'error' ("This socket has been ended by the other
//   party", EPIPE). A client that resets the connection (RST, e.g. closing with unread data)
//   emits 'error' ECONNRESET. Nobody listens for 'error', so either way the whole process
//   dies with an unhandled 'error' event (exit status 1, stack trace on stderr) before the
//   'close' handler could tell the others "<name> left the chat".
// Expected to fail: RF8, RF10
const net = require('net');

const HOST = '127.0.0.1';
const PORT = parseInt(process.argv[2], 10);

let clients = []; // { socket, name, ip, port }

function broadcast(msg, except) {
  for (const c of clients) {
    if (c !== except) c.socket.write(msg);
  }
}

function validName(name) {
  return name.length > 0 && !name.includes(' ') && !name.includes('@');
}

function findByName(name) {
  return clients.find((c) => c.name === name);
}

const server = net.createServer((socket) => {
  const client = { socket, name: null, ip: socket.remoteAddress, port: socket.remotePort };
  let buffer = '';
  console.log(`new connection from ${client.ip}:${client.port}`);
  socket.write('Enter your name:\n');

  function handleLine(line) {
    line = line.trim();
    if (client.name === null) {
      if (!validName(line)) {
        socket.write('Invalid name: no spaces or @ allowed. Enter your name:\n');
        return;
      }
      if (findByName(line)) {
        socket.write('That name is already in use. Enter your name:\n');
        return;
      }
      client.name = line;
      clients.push(client);
      socket.write(`Welcome ${line}! Your IP is ${client.ip} and your port is ${client.port}\n`);
      broadcast(`${line} joined the chat (IP: ${client.ip}, port: ${client.port})\n`, client);
      console.log(`${line} joined, ${clients.length} online`);
      return;
    }
    if (line === '') return;
    if (line.startsWith('@')) {
      const space = line.indexOf(' ');
      const to = space === -1 ? line.slice(1) : line.slice(1, space);
      const text = space === -1 ? '' : line.slice(space + 1);
      if (to === client.name) {
        socket.write('You cannot send a private message to yourself.\n');
        return;
      }
      const dest = findByName(to);
      if (!dest) {
        socket.write(`User ${to} not found.\n`);
        return;
      }
      dest.socket.write(`${client.name} (private): ${text}\n`);
      return;
    }
    console.log(`${client.name}: ${line}`);
    broadcast(`${client.name}: ${line}\n`, client);
  }

  socket.on('data', (data) => {
    buffer += data.toString();
    let i;
    while ((i = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      handleLine(line);
    }
  });

  socket.on('end', () => {
    // client closed the connection: close ours too and say bye
    socket.end();
    socket.write(`Bye ${client.name}!\n`);
  });

  socket.on('close', () => {
    if (client.name === null) return;
    clients = clients.filter((c) => c !== client);
    console.log(`${client.name} left, ${clients.length} online`);
    broadcast(`${client.name} left the chat\n`, client);
  });
  // TODO: socket.on('error', ...)
});

server.listen(PORT, HOST, () => {
  console.log(`chat server listening on ${HOST}:${PORT}`);
});
