// Plain Node.js peer of the WebSocket benchmark: the ws package and the
// checks written by hand.
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({ options: { port: { type: 'string', default: process.env.PORT ?? '8080' } } });

function checkString(req, field, max, errors) {
  const value = req[field];
  if (value === undefined || value === null || value === '') {
    errors.push({ loc: [field], type: 'missing', msg: 'Field required' });
  } else if (typeof value !== 'string') {
    errors.push({ loc: [field], type: 'string_type', msg: 'Input should be a valid string' });
  } else if (value.length > max) {
    errors.push({ loc: [field], type: 'string_too_long', msg: `String should have at most ${max} characters` });
  }
}

function handle(data) {
  let req;
  try {
    req = JSON.parse(data);
  } catch {
    return JSON.stringify({ statusCode: 400, body: { errorList: [{ loc: [], type: 'json_invalid', msg: 'Invalid JSON' }] } });
  }
  if (typeof req !== 'object' || req === null) {
    req = {};
  }
  const errors = [];
  checkString(req, 'message', 500, errors);
  checkString(req, 'user', 32, errors);
  if (errors.length > 0) {
    return JSON.stringify({ statusCode: 400, body: { errorList: errors } });
  }
  return JSON.stringify({ statusCode: 200, body: { message: req.message, user: req.user } });
}

const port = Number(values.port);
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', maxPayload: 32 * 1024 });
wss.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(handle(data.toString())));
});
wss.on('listening', () => console.log(`nodews: listening on ws://127.0.0.1:${port}/ws`));
