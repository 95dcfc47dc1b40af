import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  UseFilters,
  UsePipes,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import type { WebSocket } from 'ws';

import { ChatRequest } from './chat.dto.js';

interface ErrorItem {
  loc: string[];
  type: string;
  msg: string;
}

// The wire format names errors the way pydantic 2 does.
function toErrorItem(err: ValidationError): ErrorItem {
  const loc = [err.property];
  if (err.value === undefined || err.value === null) {
    return { loc, type: 'missing', msg: 'Field required' };
  }
  const failed = Object.keys(err.constraints ?? {});
  if (failed.includes('isString')) {
    return { loc, type: 'string_type', msg: 'Input should be a valid string' };
  }
  if (failed.includes('maxLength')) {
    return { loc, type: 'string_too_long', msg: err.constraints?.maxLength ?? 'String is too long' };
  }
  return { loc, type: 'value_error', msg: Object.values(err.constraints ?? {}).join('; ') };
}

export const validationPipe = new ValidationPipe({
  exceptionFactory: (errors: ValidationError[]) =>
    new WsException({ statusCode: 400, body: { errorList: errors.map(toErrorItem) } }),
});

/** Sends a WsException's error object to the client as the reply. */
@Catch(WsException)
export class ReplyFilter implements ExceptionFilter {
  catch(exception: WsException, host: ArgumentsHost): void {
    host.switchToWs().getClient<WebSocket>().send(JSON.stringify(exception.getError()));
  }
}

@WebSocketGateway({ path: '/ws' })
@UseFilters(new ReplyFilter())
export class ChatGateway {
  @SubscribeMessage('chat')
  @UsePipes(validationPipe)
  chat(@MessageBody() req: ChatRequest) {
    return { statusCode: 200, body: { message: req.message, user: req.user } };
  }

  @SubscribeMessage('json_invalid')
  invalidJson() {
    return { statusCode: 400, body: { errorList: [{ loc: [], type: 'json_invalid', msg: 'Invalid JSON' }] } };
  }
}
