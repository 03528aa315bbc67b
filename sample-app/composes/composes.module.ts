import { Module } from '@nestjs/common';
import { ComposesController } from './composes.controller.js';
import { ComposesService } from './composes.service.js';

@Module({ controllers: [ComposesController], providers: [ComposesService] })
export class ComposesModule {}
