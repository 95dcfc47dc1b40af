import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class ChatRequest {
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  message: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(32)
  user: string;
}
