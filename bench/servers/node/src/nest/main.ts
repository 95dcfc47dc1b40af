// NestJS peer of the WebSocket benchmark: a gateway on @nestjs/platform-ws
// with ValidationPipe and class-validator. Plain frames carry the request,
// so the adapter's parser routes every frame to the 'chat' handler.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { parseArgs } from 'node:util';

import { ChatGateway } from './chat.gateway.js';

@Module({ providers: [ChatGateway] })
class AppModule {}

function parseFrame(data: unknown) {
  try {
    return { event: 'chat', data: JSON.parse(String(data)) };
  } catch {
    return { event: 'json_invalid', data: null };
  }
}

const { values } = parseArgs({ options: { port: { type: 'string', default: process.env.PORT ?? '8080' } } });
const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.useWebSocketAdapter(new WsAdapter(app, { messageParser: parseFrame }));
await app.listen(Number(values.port), '127.0.0.1');
console.log(`nestjs: listening on ws://127.0.0.1:${values.port}/ws`);
