import { Body, Controller, Param, Post } from '@nestjs/common';
import { EmitsMessage } from 'nestjs-messaging';
import { parseNewCompose, parseRpmImport, type Compose } from './compose.js';
import { ComposesService } from './composes.service.js';

/** Composes and their RPM imports, announced as PDC does (`.compose`, `.rpms`). */
@Controller('composes')
export class ComposesController {
  constructor(private readonly composes: ComposesService) {}

  @Post()
  @EmitsMessage('.compose', {
    body: (compose: Compose) => ({
      action: 'create',
      compose_id: compose.compose_id,
      compose_date: compose.compose_date,
      compose_type: compose.compose_type,
      compose_respin: compose.compose_respin,
    }),
  })
  create(@Body() body: unknown): Compose {
    return this.composes.create(parseNewCompose(body));
  }

  @Post(':id/rpms')
  importRpms(@Param('id') id: string, @Body() body: unknown): Compose {
    return this.composes.importRpms(id, parseRpmImport(body));
  }
}
